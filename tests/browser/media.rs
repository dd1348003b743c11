//! The test video: generated with ffmpeg at test time (nothing binary in
//! the repository) and served over HTTP with Range support, as a CDN
//! would, so players can seek.

use std::path::{Path, PathBuf};

use axum::{Router, http::HeaderValue, http::header::ACCESS_CONTROL_ALLOW_ORIGIN};
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

/// How long the video is: long enough that playback from the seek target
/// outlasts the rest of the scenario (chat, poll, a gateway restart).
const SECONDS: u32 = 120;

/// testsrc2 with the media time burnt in, so screenshots show where each
/// player is.
fn source_args() -> Vec<String> {
    [
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        &format!("testsrc2=size=640x360:rate=25:duration={SECONDS}"),
        "-vf",
        // testsrc2 prints a small timecode top-left; this one stays readable in phone-sized
        // screenshots, clear of the poll overlay (top right) and the player buttons (bottom right).
        "drawtext=text='%{pts\\:hms}':x=24:y=(h-th)/2:fontsize=40:fontcolor=white:box=1:boxcolor=black@0.6",
        // A keyframe every 2 s keeps seeks cheap.
        "-g",
        "50",
        "-keyint_min",
        "50",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

async fn ffmpeg(dir: &Path, args: &[String]) -> Result<(), String> {
    let output = tokio::process::Command::new("ffmpeg")
        .args(args)
        .current_dir(dir)
        .output()
        .await
        .map_err(|e| format!("run ffmpeg: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("ffmpeg exited with {}: {}", output.status, String::from_utf8_lossy(&output.stderr).trim()))
    }
}

/// A temporary directory with the test media, removed on drop.
pub struct Media {
    pub dir: PathBuf,
    /// `video.webm`: VP9, which every Chromium build decodes.
    pub webm: &'static str,
    /// `video.m3u8` (H.264 in MPEG-TS, 4 s segments), when this ffmpeg has libx264.
    pub hls: Option<&'static str>,
}

impl Media {
    /// Encodes both variants (about 10 s of CPU on two cores).
    pub async fn generate() -> Media {
        let dir = std::env::temp_dir().join(format!("hearth-browser-media-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("a directory for the test video");
        let mut webm = source_args();
        webm.extend(
            [
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
                "-row-mt",
                "1",
                "-b:v",
                "600k",
                "video.webm",
            ]
            .map(str::to_owned),
        );
        ffmpeg(&dir, &webm).await.unwrap_or_else(|e| panic!("generate the VP9/WebM test video: {e}"));
        let mut hls = source_args();
        hls.extend(
            [
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-profile:v",
                "main",
                "-pix_fmt",
                "yuv420p",
                "-sc_threshold",
                "0",
                "-b:v",
                "600k",
                "-f",
                "hls",
                "-hls_time",
                "4",
                "-hls_playlist_type",
                "vod",
                "-hls_segment_filename",
                "segment_%03d.ts",
                "video.m3u8",
            ]
            .map(str::to_owned),
        );
        let hls = match ffmpeg(&dir, &hls).await {
            Ok(()) => Some("video.m3u8"),
            Err(e) => {
                crate::say(&format!("no HLS variant (the scenario skips its HLS check): {e}"));
                None
            }
        };
        Media { dir, webm: "video.webm", hls }
    }

    /// Serves the directory on a random loopback port; returns its base URL.
    /// ServeDir answers Range requests (players seek with them); the CORS
    /// header lets hls.js fetch the playlist and segments from the app's origin.
    pub async fn serve(&self) -> String {
        let app = Router::new()
            .fallback_service(ServeDir::new(&self.dir))
            .layer(SetResponseHeaderLayer::overriding(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the media server");
        let addr = listener.local_addr().expect("the media server's address");
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("the media server stopped: {error}");
            }
        });
        format!("http://{addr}")
    }
}

impl Drop for Media {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
