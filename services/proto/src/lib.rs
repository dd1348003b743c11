//! Rust types for Hearth's contracts, generated from `proto/hearth/**` at
//! build time: one module per proto package (`hearth::<area>::v1`). Every
//! message also implements proto3-canonical JSON through serde (pbjson),
//! which the WebSocket text protocol uses.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

include!(concat!(env!("OUT_DIR"), "/packages.rs"));

pub use hearth::identity::v1 as identity;

/// Encoded `FileDescriptorSet` of every Hearth contract, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hearth_descriptor.bin"));

/// Well-known types with proto3-JSON support (`google.protobuf.*`).
pub use pbjson_types as wkt;
