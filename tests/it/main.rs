//! Integration tests: real roles, real Postgres/Redis/NATS, one isolated
//! environment per test (see the harness).

mod auth_http;
mod auth_limits;
mod authz;
mod catalog;
mod chat;
mod chat_moderation;
mod container_image;
mod health;
mod helm_values;
mod identity_grpc;
mod polls;
mod predictions;
mod provider_sign_in;
mod qna;
mod quizzes;
mod recommendations;
mod rooms;
mod sync;
mod tokens;
mod web_app;
mod websocket;
