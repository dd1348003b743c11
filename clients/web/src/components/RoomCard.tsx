import { useState } from "react";
import { Link } from "../app/router";
import { integerText } from "../lib/format";
import { RoomKind, type Room } from "../lib/proto";
import { roomPath } from "../lib/routes";

export function kindLabel(kind: RoomKind): string {
  switch (kind) {
    case RoomKind.CHANNEL:
      return "Channel";
    case RoomKind.PROGRAMME:
      return "Programme";
    case RoomKind.COMMUNITY:
      return "Community";
    case RoomKind.WATCH_PARTY:
      return "Watch party";
    default:
      return "Room";
  }
}

/** A room tile: the whole card is one link, its live count is a test read-out. */
export function RoomCard({ room }: { room: Room }) {
  const image = room.imageUrl || room.mediaSummary?.imageUrl;
  // External art may be blocked by the CSP or gone: fall back to the initial instead of a broken icon.
  const [imageFailed, setImageFailed] = useState(false);
  return (
    <li className="card">
      <Link to={roomPath(room.roomId)} className="card-link">
        <span className="card-art" aria-hidden="true">
          {image && !imageFailed ? (
            <img src={image} alt="" loading="lazy" onError={() => setImageFailed(true)} />
          ) : (
            <span className="card-initial">{room.title.slice(0, 1)}</span>
          )}
        </span>
        <span className="card-body">
          <span className="card-title">{room.title}</span>
          <span className="card-meta">
            <span className="badge">{kindLabel(room.kind)}</span>
            {room.mediaSummary?.live && <span className="badge badge-live">Live</span>}
            <span className="online">
              <span className="online-dot" aria-hidden="true" />
              <span data-testid="online-count">{integerText(room.onlineCount)}</span> watching
            </span>
          </span>
        </span>
      </Link>
    </li>
  );
}
