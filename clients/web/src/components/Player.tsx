import { useEffect, useRef, useState, type ReactNode } from "react";
import { catalogMediaNote, mediaTitle, planMedia, type MediaPlan } from "../lib/media";
import type { MediaRef, MediaSummary } from "../lib/proto";

interface PlayerProps {
  media: MediaRef | undefined;
  summary: MediaSummary | undefined;
  /** The element MediaSync drives; null while there is nothing this browser can play. */
  onVideo: (video: HTMLVideoElement | null) => void;
  /** A fatal load error (network, decode, unsupported stream): the room is told FAILED. */
  onFatal: (message: string) => void;
  /** Overlays drawn over the picture (live reaction bursts, status). */
  children?: ReactNode;
}

/**
 * The picture: an HTML5 <video> fed natively (progressive files, native HLS) or by hls.js. It has no
 * native controls: play, pause and seek are group commands (PlayerControls), never local-only changes.
 * Muted by default so the synchronised start may autoplay; the viewer unmutes with one click.
 */
export function Player({ media, summary, onVideo, onFatal, children }: PlayerProps) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const frameRef = useRef<HTMLDivElement>(null);
  const [muted, setMuted] = useState(true);
  const [problem, setProblem] = useState<string | null>(null);
  const url = media?.kind.case === "url" ? media.kind.value : undefined;
  const catalogKind = media && media.kind.case && media.kind.case !== "url" ? media.kind.case : undefined;
  const title = mediaTitle(media, summary?.title);

  useEffect(() => {
    const video = videoRef.current;
    if (!video || !url) {
      onVideo(null);
      return;
    }
    setProblem(null);
    const plan: MediaPlan = planMedia(url, video.canPlayType("application/vnd.apple.mpegurl") !== "", hlsLikelySupported());
    let destroyed = false;
    let cleanup: () => void = () => undefined;
    const fail = (msg: string) => {
      if (destroyed) return;
      setProblem(msg);
      onFatal(msg);
    };
    const onError = () => fail(describeMediaError(video.error));

    if (plan.kind === "unsupported") {
      fail(plan.reason);
      onVideo(null);
      return;
    }
    video.addEventListener("error", onError);
    if (plan.kind === "hls.js") {
      void import("hls.js").then(({ default: Hls }) => {
        if (destroyed) return;
        if (!Hls.isSupported()) return fail("This browser cannot play HLS streams.");
        const hls = new Hls({ enableWorker: true, backBufferLength: 30 });
        let mediaRecoveries = 0;
        hls.on(Hls.Events.ERROR, (_evt, data) => {
          if (!data.fatal) return;
          // hls.js documents these two recoveries; anything else (or repeated media errors) is final.
          if (data.type === Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
          else if (data.type === Hls.ErrorTypes.MEDIA_ERROR && mediaRecoveries++ < 2) hls.recoverMediaError();
          else fail("The stream could not be played.");
        });
        hls.loadSource(plan.url);
        hls.attachMedia(video);
        cleanup = () => hls.destroy();
        onVideo(video);
      }, () => fail("The HLS player failed to load."));
    } else {
      video.src = plan.url;
      video.load();
      cleanup = () => {
        video.removeAttribute("src");
        video.load();
      };
      onVideo(video);
    }
    return () => {
      destroyed = true;
      onVideo(null);
      video.removeEventListener("error", onError);
      cleanup();
    };
    // onVideo/onFatal are stable callbacks from the room screen.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [url]);

  useEffect(() => {
    if (videoRef.current) videoRef.current.muted = muted;
  }, [muted]);

  const fullscreen = () => {
    const el = frameRef.current;
    if (!el) return;
    if (document.fullscreenElement) void document.exitFullscreen();
    else void el.requestFullscreen?.();
  };

  return (
    <div className="player-frame" ref={frameRef}>
      <video
        ref={videoRef}
        data-testid="player"
        className="player-video"
        muted
        playsInline
        preload="auto"
        poster={summary?.imageUrl || undefined}
        aria-label={title ? `Video: ${title}` : "Video"}
      />
      {!url && (
        <div className="player-note">
          {title && <p className="player-note-title">{title}</p>}
          <p>{catalogKind ? catalogMediaNote(catalogKind) : "Nothing is playing yet."}</p>
        </div>
      )}
      {problem && (
        <div className="player-note" role="alert">
          <p>{problem}</p>
        </div>
      )}
      {children}
      {/* Sound and full screen only mean something while this page plays a picture. */}
      {url && (
        <div className="player-tools">
          <button type="button" className="btn btn-small btn-overlay" onClick={() => setMuted((m) => !m)}>
            {muted ? "Unmute" : "Mute"}
          </button>
          <button type="button" className="btn btn-small btn-overlay" onClick={fullscreen}>
            Full screen
          </button>
        </div>
      )}
    </div>
  );
}

/** MSE is what hls.js needs; checked without loading hls.js itself. */
function hlsLikelySupported(): boolean {
  const w = window as unknown as { MediaSource?: unknown; ManagedMediaSource?: unknown };
  return typeof w.MediaSource === "function" || typeof w.ManagedMediaSource === "function";
}

function describeMediaError(err: MediaError | null): string {
  switch (err?.code) {
    case MediaError.MEDIA_ERR_NETWORK:
      return "The video could not be loaded: network error.";
    case MediaError.MEDIA_ERR_DECODE:
      return "The video could not be decoded.";
    case MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED:
      return "This browser cannot play this video format.";
    default:
      return "The video could not be played.";
  }
}
