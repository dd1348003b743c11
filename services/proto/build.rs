//! Compiles every contract under `proto/` with protox (pure Rust, no system
//! protoc): prost messages, tonic clients and servers, proto3-JSON serde
//! impls (pbjson, used by the WebSocket text protocol) and the file
//! descriptor set that gRPC reflection serves.

use std::{
    env, fs, io,
    path::{Path, PathBuf},
};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let mut files = Vec::new();
    collect_protos(&root.join("hearth"), &mut files)?;
    files.sort();
    println!("cargo:rerun-if-changed={}", root.display());
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let fds = protox::compile(&files, [&root])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let descriptor_bytes = fds.encode_to_vec();
    fs::write(out_dir.join("hearth_descriptor.bin"), &descriptor_bytes)?;

    tonic_prost_build::configure()
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        .compile_fds(fds.clone())?;

    write_module_tree(&fds, &out_dir)?;

    pbjson_build::Builder::new()
        .register_descriptors(&descriptor_bytes)?
        .extern_path(".google.protobuf", "::pbjson_types")
        .ignore_unknown_enum_variants()
        .build(&[".hearth"])?;
    Ok(())
}

/// Writes `packages.rs`: nested `pub mod`s mirroring the proto packages,
/// each including its generated messages, stubs and serde impls.
fn write_module_tree(fds: &prost_types::FileDescriptorSet, out_dir: &Path) -> io::Result<()> {
    let mut packages: Vec<&str> =
        fds.file.iter().filter_map(|f| f.package.as_deref()).filter(|p| p.starts_with("hearth.")).collect();
    packages.sort_unstable();
    packages.dedup();
    let mut tree = std::collections::BTreeMap::<Vec<&str>, &str>::new();
    for package in &packages {
        tree.insert(package.split('.').collect(), package);
    }
    let mut code = String::new();
    let mut open: Vec<&str> = Vec::new();
    for (path, package) in &tree {
        let common = open.iter().zip(path.iter()).take_while(|(a, b)| a == b).count();
        for _ in common..open.len() {
            code.push_str("}\n");
        }
        open.truncate(common);
        for segment in &path[common..] {
            code.push_str(&format!("pub mod {segment} {{\n"));
            open.push(segment);
        }
        code.push_str(&format!(
            "include!(concat!(env!(\"OUT_DIR\"), \"/{package}.rs\"));\ninclude!(concat!(env!(\"OUT_DIR\"), \"/{package}.serde.rs\"));\n"
        ));
    }
    for _ in 0..open.len() {
        code.push_str("}\n");
    }
    fs::write(out_dir.join("packages.rs"), code)
}

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            out.push(path);
        }
    }
    Ok(())
}
