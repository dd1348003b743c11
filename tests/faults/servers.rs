//! Private PostgreSQL, Redis and NATS instances on free random ports, from
//! the machine's binaries, for tests that stop, flush or restart a
//! dependency: the shared instances on the standard ports are never touched.
//! Each struct kills its process (and removes its directory) on Drop.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use uuid::Uuid;

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// A fresh directory under the system temp dir, removed on Drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(stem: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("hearth-faults-{stem}-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits until something accepts TCP connections on `port` (30 s at most).
async fn wait_for_port(port: u16, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "{what} did not listen on {port} within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn stop(child: &mut Option<Child>) {
    if let Some(mut child) = child.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A PostgreSQL cluster of our own, run as the `postgres` OS user (initdb
/// and the server refuse to run as root).
pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    running: bool,
    dir: TempDir,
}

impl Postgres {
    /// `initdb` (trust auth, no fsync) and start on a free port.
    pub async fn start() -> Postgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is installed under /usr/lib/postgresql")
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("an initdb binary");
        let dir = TempDir::new("pg");
        let data = dir.0.join("data");
        let status = Command::new("chown").arg("postgres:postgres").arg(&dir.0).status().expect("chown");
        assert!(status.success(), "chown the Postgres dir to postgres");
        let pg = Postgres { port: free_port(), bin, data, running: false, dir };
        let data = pg.data.to_string_lossy().into_owned();
        pg.as_postgres("initdb", &["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "-D", &data]).await;
        let mut pg = pg;
        pg.resume().await;
        pg
    }

    /// Runs one of the cluster's binaries as the postgres user.
    async fn as_postgres(&self, program: &str, args: &[&str]) {
        let output = tokio::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(program))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run a PostgreSQL binary");
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    async fn pg_ctl(&self, args: &[&str]) {
        let data = self.data.to_string_lossy().into_owned();
        let log = self.dir.0.join("log").to_string_lossy().into_owned();
        let mut all = vec!["-D", data.as_str(), "-l", log.as_str(), "-w", "-t", "30"];
        all.extend_from_slice(args);
        self.as_postgres("pg_ctl", &all).await;
    }

    /// The server URL (append `/<database>`).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// Starts the server again (after `pause`).
    pub async fn resume(&mut self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.dir.0.display()
        );
        self.pg_ctl(&["-o", &options, "start"]).await;
        self.running = true;
        wait_for_port(self.port, "postgres").await;
    }

    /// Stops the server (`-m fast`: clients are disconnected at once).
    pub async fn pause(&mut self) {
        self.pg_ctl(&["-m", "fast", "stop"]).await;
        self.running = false;
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let data = self.data.to_string_lossy().into_owned();
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"))
                .args(["-D", &data, "-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A Redis server of our own, without persistence.
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
    _dir: TempDir,
}

impl Redis {
    pub async fn start() -> Redis {
        let mut redis = Redis { port: free_port(), child: None, _dir: TempDir::new("redis") };
        redis.restart().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (if running) and starts an empty one on the same
    /// port: with no persistence, every key is gone.
    pub async fn restart(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self._dir.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        wait_for_port(self.port, "redis").await;
    }

    /// SIGKILLs the server.
    pub fn kill(&mut self) {
        stop(&mut self.child);
    }

    /// FLUSHALL: every key of every test using this instance is lost.
    pub async fn flush_all(&self) {
        let client = redis::Client::open(self.url()).expect("redis url");
        let mut conn = client.get_multiplexed_async_connection().await.expect("connect to the private redis");
        redis::cmd("FLUSHALL").query_async::<()>(&mut conn).await.expect("FLUSHALL");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A NATS server with JetStream of our own; its store directory survives
/// restarts, so streams and consumers do.
pub struct Nats {
    pub port: u16,
    child: Option<Child>,
    dir: TempDir,
}

impl Nats {
    pub async fn start() -> Nats {
        let mut nats = Nats { port: free_port(), child: None, dir: TempDir::new("nats") };
        nats.resume().await;
        nats
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server on the same port and store directory.
    pub async fn resume(&mut self) {
        let store: &Path = &self.dir.0;
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        wait_for_port(self.port, "nats").await;
    }

    /// SIGKILLs the server (a crash: no goodbye to clients).
    pub fn kill(&mut self) {
        stop(&mut self.child);
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}
