//! The container image's Dockerfile, checked by parsing it (no Docker engine
//! runs here): a multi-stage release build into a small non-root runtime.
//! When `hadolint` is on PATH it lints the file too.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_owned()
}

/// One instruction: its keyword (upper case) and its arguments, with
/// continuation lines joined and comments dropped.
#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
}

fn parse(text: &str) -> Vec<Instruction> {
    let mut instructions = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && pending.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                pending.push_str(head);
                pending.push(' ');
            }
            None => {
                pending.push_str(trimmed);
                let logical = std::mem::take(&mut pending);
                let (keyword, args) = logical.split_once(char::is_whitespace).unwrap_or((&logical, ""));
                instructions.push(Instruction { keyword: keyword.to_ascii_uppercase(), args: args.trim().to_owned() });
            }
        }
    }
    assert!(pending.is_empty(), "the Dockerfile ends inside a continued line");
    instructions
}

/// The instructions of each stage, by stage name (`FROM … AS name`).
fn stages(instructions: &[Instruction]) -> Vec<(String, String, Vec<&Instruction>)> {
    let mut stages: Vec<(String, String, Vec<&Instruction>)> = Vec::new();
    for instruction in instructions {
        if instruction.keyword == "FROM" {
            let words: Vec<&str> = instruction.args.split_whitespace().filter(|w| !w.starts_with("--")).collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => (*name).to_owned(),
                _ => stages.len().to_string(),
            };
            stages.push((name, words.first().copied().unwrap_or_default().to_owned(), Vec::new()));
        } else if let Some((_, _, body)) = stages.last_mut() {
            body.push(instruction);
        } else {
            assert!(instruction.keyword == "ARG", "only ARG may precede the first FROM, found {instruction:?}");
        }
    }
    stages
}

#[test]
fn the_dockerfile_builds_a_stripped_release_binary_into_a_non_root_image() {
    let root = repo_root();
    let text = std::fs::read_to_string(root.join("deploy/Dockerfile")).expect("deploy/Dockerfile");
    let instructions = parse(&text);
    let stages = stages(&instructions);
    assert!(stages.len() >= 2, "a multi-stage build: {stages:?}");

    for (name, image, _) in &stages {
        let tag = image.rsplit_once(':').map(|(_, tag)| tag);
        assert!(
            tag.is_some_and(|t| !t.is_empty() && t != "latest") || image.contains('@'),
            "stage {name} pins its base image by tag or digest, not latest: {image}"
        );
    }
    let (_, _, build) = &stages[0];
    let builds: Vec<&&Instruction> =
        build.iter().filter(|i| i.keyword == "RUN" && i.args.contains("cargo build")).collect();
    assert_eq!(builds.len(), 1, "the first stage builds once");
    for flag in ["--release", "--locked", "--package hearth"] {
        assert!(builds[0].args.contains(flag), "the build uses {flag}: {}", builds[0].args);
    }
    assert!(
        build.iter().any(|i| i.keyword == "ENV" && i.args.contains("CARGO_PROFILE_RELEASE_STRIP=symbols")),
        "the binary is stripped"
    );

    let (_, runtime_image, runtime) = stages.last().expect("a runtime stage");
    assert!(!runtime_image.starts_with("rust"), "the runtime carries no toolchain: {runtime_image}");
    let names: Vec<&str> = stages.iter().map(|(name, _, _)| name.as_str()).collect();
    for copy in runtime.iter().filter(|i| i.keyword == "COPY") {
        let from = copy.args.split_whitespace().find_map(|w| w.strip_prefix("--from="));
        let from = from.expect("the runtime copies only from the build stage");
        assert!(names.contains(&from), "COPY --from={from} names a stage");
    }
    let user = runtime.iter().rev().find(|i| i.keyword == "USER").expect("the runtime sets USER");
    let uid = user.args.split(':').next().unwrap_or_default();
    assert!(uid.parse::<u32>().is_ok_and(|uid| uid >= 1000), "a numeric non-root user: {}", user.args);
    let entrypoint = runtime.iter().rev().find(|i| i.keyword == "ENTRYPOINT").expect("an ENTRYPOINT");
    let exec: Vec<String> = serde_json::from_str(&entrypoint.args).expect("ENTRYPOINT in exec form (a JSON array)");
    assert_eq!(exec, ["/usr/local/bin/hearth"]);
    let exposed: Vec<&str> =
        runtime.iter().filter(|i| i.keyword == "EXPOSE").flat_map(|i| i.args.split_whitespace()).collect();
    assert!(exposed.contains(&"8080") && exposed.contains(&"50051"), "HTTP and gRPC ports exposed: {exposed:?}");
    assert!(instructions.iter().all(|i| i.keyword != "ADD"), "COPY, never ADD");

    let ignore = std::fs::read_to_string(root.join(".dockerignore")).expect(".dockerignore");
    let ignored: Vec<&str> = ignore.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    for entry in [".git", "**/target"] {
        assert!(ignored.contains(&entry), ".dockerignore leaves {entry} out of the build context");
    }

    // hadolint, when the machine has it (it is not in Debian 12's packages).
    if let Ok(output) = std::process::Command::new("hadolint").arg(root.join("deploy/Dockerfile")).output() {
        assert!(
            output.status.success(),
            "hadolint: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    } else {
        println!("hadolint is not installed; the Dockerfile was checked by parsing only");
    }
}
