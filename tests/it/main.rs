//! Integration tests: real roles, real Postgres/Redis/NATS, one isolated
//! environment per test (see the harness).

mod auth_http;
mod catalog;
mod chat;
mod chat_moderation;
mod container_image;
mod health;
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
mod websocket;
