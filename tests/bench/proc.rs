//! Child processes of the bench and what is read about them: servers run
//! as `bench <subcommand>` children that print `READY <url>` and serve until
//! their standard input closes, so their memory and CPU come from /proc
//! without the clients' own.

use std::{
    io::{BufRead, BufReader, Read, Write},
    process::{Child, ChildStdin, Command, Stdio},
    time::Duration,
};

use anyhow::{Context, Result, anyhow};
use tokio::{sync::oneshot, time::Instant};

/// Resident and peak memory of a process, in KiB (from /proc/<pid>/status).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Memory {
    pub(crate) rss: u64,
    pub(crate) peak: u64,
}

pub(crate) fn memory(pid: u32) -> Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("read /proc/<pid>/status")?;
    let field = |name: &str| -> Result<u64> {
        let line = status.lines().find(|l| l.starts_with(name)).ok_or_else(|| anyhow!("{name} missing"))?;
        let value = line.split_whitespace().nth(1).ok_or_else(|| anyhow!("{name} has no value"))?;
        value.parse().with_context(|| format!("parse {name}"))
    };
    Ok(Memory { rss: field("VmRSS:")?, peak: field("VmHWM:")? })
}

/// CPU time a process has used (user + system), in clock ticks (fields 14
/// and 15 of /proc/<pid>/stat).
pub(crate) fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).context("read /proc/<pid>/stat")?;
    // The command name (field 2) may hold spaces: count from after its ')'.
    let rest = stat.rsplit_once(')').map(|(_, rest)| rest).ok_or_else(|| anyhow!("malformed /proc/<pid>/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |index: usize| -> Result<u64> {
        fields.get(index).ok_or_else(|| anyhow!("/proc/<pid>/stat is short"))?.parse().context("parse a CPU time")
    };
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    Ok(field(11)? + field(12)?)
}

/// Pids of every process whose command name is `comm` (e.g. the
/// `postgres` backends and the `redis-server` the services use).
pub(crate) fn pids_named(comm: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm))
        .collect()
}

/// CPU time the whole machine spent busy (not idle nor waiting for I/O),
/// in clock ticks summed over its cores (the `cpu` line of /proc/stat).
pub(crate) fn machine_busy_ticks() -> Result<u64> {
    let stat = std::fs::read_to_string("/proc/stat").context("read /proc/stat")?;
    let line = stat.lines().find(|l| l.starts_with("cpu ")).ok_or_else(|| anyhow!("/proc/stat has no cpu line"))?;
    let values: Vec<u64> = line.split_whitespace().skip(1).map(|v| v.parse().unwrap_or(0)).collect();
    // user nice system idle iowait irq softirq steal (guest time is in user).
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    Ok(total - idle)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux when getconf
/// is missing).
pub(crate) fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|ticks| *ticks > 0)
        .unwrap_or(100)
}

/// (soft, hard) open-file limits of this process.
fn nofile_limits() -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut values = line.trim_start_matches("Max open files").split_whitespace();
    let parse = |v: Option<&str>| v.map(|v| if v == "unlimited" { u64::MAX } else { v.parse().unwrap_or(0) });
    Some((parse(values.next())?, parse(values.next())?))
}

/// Raises the soft open-file limit to the hard one (children inherit it).
/// No crate for setrlimit is in the workspace, so util-linux `prlimit` does
/// it on this process; otherwise the user gets the `ulimit -n` advice.
pub(crate) fn raise_nofile_limit(needed: u64) {
    let Some((soft, hard)) = nofile_limits() else { return };
    if soft < hard {
        let value = if hard == u64::MAX { "unlimited".to_owned() } else { hard.to_string() };
        let status = Command::new("prlimit")
            .arg(format!("--pid={}", std::process::id()))
            .arg(format!("--nofile={value}:{value}"))
            .stderr(Stdio::null())
            .status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!("bench: could not raise the open-file limit with prlimit");
        }
    }
    let soft = nofile_limits().map(|(soft, _)| soft).unwrap_or(soft);
    if soft < needed {
        eprintln!(
            "bench: the open-file limit is {soft}, but about {needed} descriptors are needed per process; \
             run `ulimit -n {needed}` (or higher) before the bench"
        );
    }
}

/// A server child process: it prints `READY <url>` and runs until its
/// standard input closes.
pub(crate) struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    pub(crate) url: String,
}

impl Server {
    pub(crate) async fn spawn(subcommand: &str, args: &[String], env: &[(&str, String)]) -> Result<Server> {
        let exe = std::env::current_exe().context("locate the bench binary")?;
        let mut command = Command::new(exe);
        command.arg(subcommand).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().with_context(|| format!("start `bench {subcommand}`"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("child has no stdout"))?;
        let (tx, rx) = oneshot::channel();
        let name = subcommand.to_owned();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match (line.strip_prefix("READY "), tx.take()) {
                    (Some(url), Some(tx)) => {
                        let _ = tx.send(url.trim().to_owned());
                    }
                    (_, pending) => {
                        tx = pending;
                        eprintln!("[{name}] {line}");
                    }
                }
            }
        });
        let url = tokio::time::timeout(Duration::from_secs(180), rx)
            .await
            .with_context(|| format!("`bench {subcommand}` not ready within 180 s"))?
            .map_err(|_| anyhow!("`bench {subcommand}` exited before it was ready"))?;
        Ok(Server { child, stdin, url })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes the child's stdin and waits for it to clean up (a Hearth
    /// child drops its test database); kills it after 30 s.
    pub(crate) async fn stop(mut self) -> Result<()> {
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            if Instant::now() > deadline {
                eprintln!("bench: child {} did not exit; killing it", self.pid());
                self.child.kill()?;
                self.child.wait()?;
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Resolves when this process's standard input reaches end of file (the
/// parent closed it or died).
pub(crate) async fn stdin_closed() {
    let _ = tokio::task::spawn_blocking(|| {
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 256];
        while let Ok(n) = stdin.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// Tells the parent this child serves at `url`.
pub(crate) fn announce(url: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "READY {url}")?;
    stdout.flush()?;
    Ok(())
}

pub(crate) async fn settle(seconds: f64) {
    tokio::time::sleep(Duration::from_secs_f64(seconds.max(0.0))).await;
}

pub(crate) fn ms(seconds: f64) -> String {
    if seconds.is_nan() { "-".to_owned() } else { format!("{:.1} ms", seconds * 1e3) }
}

pub(crate) fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_cpu_and_memory() {
        let pid = std::process::id();
        assert!(cpu_ticks(pid).is_ok());
        assert!(machine_busy_ticks().is_ok());
        assert!(memory(pid).unwrap().rss > 0);
        assert!(clock_ticks_per_second() > 0);
    }
}
