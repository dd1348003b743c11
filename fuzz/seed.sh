#!/usr/bin/env bash
# Seed corpora for the fuzz targets.
#
#   fuzz/seed.sh                    # regenerate the checked-in seeds in fuzz/corpus/
#   fuzz/seed.sh --shared DIR OUT   # add cuts of DIR's real playlists and guides
#                                   # (../shared/data/iptv) to OUT/m3u and OUT/xmltv
#
# Checked in: WebSocket frames taken from the integration tests (tests/it),
# their protobuf encodings and tokens of the fixed fuzz key (both written by
# examples/seeds.rs), and hand-made playlists and guides with the quirks the
# parsers document. The real files of ../shared are not copied into the
# project (shared/data/README.md): deploy/fuzz.sh cuts them into the temporary
# corpus of each run with --shared, each under 16 KiB.
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(dirname "$fuzz_dir")"
die() { echo "seed.sh: $*" >&2; exit 1; }

# Cuts of the real files under DIR ($1) into OUT ($2): playlists at a line
# end, guides after their last whole programme, closed again; each < 16 KiB.
shared_seeds() {
    python3 - "$1" "$2" <<'PY'
import gzip, pathlib, sys

src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
LIMIT = 16384

def cut_guide(data):
    if len(data) <= LIMIT:
        return data
    head = data[:LIMIT]
    at = head.rfind(b"</programme>")
    return head[:at + len(b"</programme>")] + b"\n</tv>\n" if at >= 0 else head

(out / "m3u").mkdir(parents=True, exist_ok=True)
(out / "xmltv").mkdir(parents=True, exist_ok=True)
for f in sorted(src.glob("m3u/*/*.m3u")):
    data = f.read_bytes()
    if len(data) > LIMIT:
        data = data[:data.rfind(b"\n", 0, LIMIT) + 1]
    (out / "m3u" / f"shared-{f.parent.name}-{f.name}").write_bytes(data)
for f in sorted(src.glob("epg/*")):
    if f.name.endswith(".gz"):
        data = gzip.compress(cut_guide(gzip.decompress(f.read_bytes())), 9, mtime=0)
    else:
        data = cut_guide(f.read_bytes())
    (out / "xmltv" / f"shared-{f.name}").write_bytes(data)
PY
}

if [[ "${1:-}" == "--shared" ]]; then
    [[ $# -eq 3 ]] || die "usage: seed.sh --shared DIR OUT"
    shared_seeds "$2" "$3"
    exit 0
fi
[[ $# -eq 0 ]] || die "usage: seed.sh [--shared DIR OUT]"

corpus="$fuzz_dir/corpus"
rm -rf "$corpus/ws_frame_json" "$corpus/ws_frame_proto" "$corpus/jwt" "$corpus/m3u" "$corpus/xmltv"
mkdir -p "$corpus"/{ws_frame_json,ws_frame_proto,jwt,m3u,xmltv}

# WebSocket frames: one per frame type used in tests/it, from its json!({..})
# literals, with Rust expressions replaced by ids; plus edge cases.
python3 - "$repo_root/tests/it" "$corpus/ws_frame_json" <<'PY'
import json, pathlib, re, sys

src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])

def balanced(text, start):
    """The json!( … ) argument starting at text[start] == '{'."""
    depth, i, in_str = 0, start, False
    while i < len(text):
        c = text[i]
        if in_str:
            if c == "\\": i += 1
            elif c == '"': in_str = False
        elif c == '"': in_str = True
        elif c in "{[(": depth += 1
        elif c in "}])":
            depth -= 1
            if depth == 0: return text[start:i + 1]
        i += 1
    return None

def to_json(rust):
    """json! syntax to JSON: every value that is a Rust expression becomes an id."""
    res, i, n, depth, fill = [], 0, len(rust), 0, 0
    while i < n:
        c = rust[i]
        if c == '"':
            j = i + 1
            while rust[j] != '"': j += 2 if rust[j] == "\\" else 1
            res.append(rust[i:j + 1]); i = j + 1
        elif c in "{}[]:,": res.append(c); i += 1
        elif c.isspace(): i += 1
        else:
            m = re.match(r"(-?\d+(\.\d+)?|true|false|null)(?=[\s,}\]])", rust[i:])
            if m: res.append(m.group(1)); i += len(m.group(1)); continue
            j, paren = i, 0
            while j < n and not (paren == 0 and rust[j] in ",}]"):
                paren += rust[j] in "([{"; paren -= rust[j] in ")]}"; j += 1
            fill += 1
            res.append(json.dumps(f"0190b7a0-0000-7000-8000-{fill:012d}")); i = j
    return json.loads("".join(res))

seen = {}
for path in sorted(src.glob("*.rs")):
    text = path.read_text()
    for m in re.finditer(r"json!\(\{", text):
        lit = balanced(text, m.end() - 1)
        if not lit: continue
        try: frame = to_json(lit)
        except Exception: continue
        kinds = [k for k in frame if k != "ref"]
        if len(kinds) == 1 and isinstance(frame[kinds[0]], dict) and kinds[0] not in seen and kinds[0] != "page":
            seen[kinds[0]] = {"ref": f"r{len(seen)}", **{kinds[0]: frame[kinds[0]]}}

edge = {
    "edge-auth": '{"ref":"auth","auth":{"accessToken":"eyJhbGciOiJFZERTQSJ9.e30.sig"}}',
    "edge-unknown-type": '{"ref":"u","teleport":{}}',
    "edge-wrong-type": '{"ref":"q1","getRoom":{"roomId":5}}',
    "edge-long-ref": json.dumps({"ref": "x" * 65, "ping": {}}),
    "edge-no-kind": '{"ref":"n"}',
    "edge-two-kinds": '{"ref":"2","ping":{},"pause":{"roomId":"r"}}',
    "edge-not-json": "{not json",
    "edge-escapes": '{"ref":"\\u00e9\\ud83d\\ude00","sendMessage":{"roomId":"r","clientMsgId":"a","text":"\\u0000\\n"}}',
    "edge-int64-forms": '{"ref":"i","listMessages":{"roomId":"r","afterSequence":"18446744073709551615"}}',
    "edge-duration": '{"ref":"d","timeoutUser":{"roomId":"r","userId":"u","duration":"-315576000000.999999999s"}}',
    "edge-timestamp": '{"ref":"t","ping":{"clientTime":"9999-12-31T23:59:59.999999999Z"}}',
    "edge-enum-number": '{"ref":"e","setMemberRole":{"roomId":"r","userId":"u","role":2}}',
    "edge-null-fields": '{"ref":null,"ping":null}',
    "edge-field-mask": '{"ref":"m","updateChatSettings":{"roomId":"r","settings":{},"updateMask":"slowModeSeconds,a.b"}}',
}
for name, text in edge.items():
    (out / name).write_text(text)
for kind, frame in seen.items():
    (out / f"tests-{kind}").write_text(json.dumps(frame, ensure_ascii=False))
print(f"ws_frame_json: {len(seen)} frames from tests/it, {len(edge)} edge cases")
PY

# Protobuf frames and tokens.
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/hearth-fuzz-target}" \
    cargo run --quiet --manifest-path "$fuzz_dir/Cargo.toml" --example seeds -- "$corpus"

# Playlists: the quirks listed in m3u.rs and ../shared/data/README.md.
m3u() { printf '%b' "$2" >"$corpus/m3u/$1"; }
m3u basic '#EXTM3U url-tvg="https://example.com/guide.xml"\n#EXTINF:-1 tvg-id="One.uk" tvg-logo="https://example.com/1.png" group-title="News;UK",One, HD\nhttps://example.com/one.m3u8\n'
m3u crlf-bom '\xef\xbb\xbf#EXTM3U x-tvg-url="https://a/g.xml, https://b/g.xml.gz,https://a/g.xml"\r\n#EXTINF:-1 tvg-id="Name.cc@Feed",Name (1080p) [Not 24/7]\r\n#EXTVLCOPT:http-referrer=https://example.com/\r\n#EXTVLCOPT:http-user-agent=Mozilla/5.0\r\nhttps://example.com/s.m3u8\r\n'
m3u no-colon '#EXTM3U\n#EXTINF-1 tvg-id="BQ.bq",Bq TV\nhttp://example.com/bq.m3u8\n'
m3u kodi '#EXTM3U\n#KODIPROP:inputstream.adaptive.manifest_headers=User-Agent=Kodi&Referer=https://r/\n#KODIPROP:inputstream.adaptive.license_type=clearkey\n#EXTINF:0 tvg-name="K",\nhttps://example.com/k.mpd|User-Agent=Hearth&Referer=https://x/\n'
m3u catchup '#EXTM3U catchup="shift" catchup-days="7" tvg-shift="-1.5"\n#EXTINF:-1 catchup="flussonic" catchup-days="x" catchup-source="?utc={utc}&lutc={lutc}" tvg-shift="2",C\n#EXTGRP:Sports\n#EXTGRP:Sports\nrtsp://example.com/c\n'
m3u plain 'http://example.com/a.ts\nmmsh://example.com/b\n\n/local/path.ts\n'
m3u dangling '#EXTM3U\n#EXTINF:-1,First\n#EXTINF:-1,Second\nhttp://example.com/2\n#EXTINF:-1,Lost at the end\n'
m3u concatenated '#EXTM3U\n#EXTINF:-1,A\nhttp://a/\n#EXTM3U url-tvg="http://ignored/"\n#EXTINF:-1,B\nhttp://b/\n'
m3u quoting '#EXTM3U\n#EXTINF:-1 tvg-id="a,b" tvg-name=\x27single\x27 bare=value user-agent="UA" http-referrer="R" status="online",Name, with, commas\nhttp://example.com/q\n'
m3u latin1 '#EXTM3U\n#EXTINF:-1 tvg-name="Caf\xe9",T\xe9l\xe9\nhttp://example.com/\xff\n'
m3u lone-cr '#EXTM3U\r#EXTINF:-1,Cr\rhttp://example.com/cr\r'
m3u duration '#EXTM3U\n#EXTINF:3.5e2 tvg-chno="5.1",D\nhttp://d/\n#EXTINF:NaN,E\nhttp://e/\n#EXTINF:-inf,F\nhttp://f/\n'
m3u header-only '#EXTM3U\n'

# Guides: the quirks listed in xmltv.rs and ../shared/data/README.md.
xml() { printf '%b' "$2" >"$corpus/xmltv/$1"; }
xml basic '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n<tv generator-info-name="x">\n<channel id="One.uk"><display-name lang="en">One</display-name><icon src="https://e/1.png" width="64" height="64"/><url>https://e/</url></channel>\n<programme start="20260101060000 +0000" stop="20260101070000 +0000" channel="One.uk"><title lang="en">News</title><sub-title>Morning</sub-title><desc lang="en">The news.</desc><category>News</category><episode-num system="xmltv_ns">1.4.0/1</episode-num><episode-num system="onscreen">S02E05</episode-num><date>2026</date><icon src="https://e/p.png"/><rating system="VCHIP"><value>TV-G</value></rating><star-rating><value>7/10</value></star-rating><new/><premiere/><previously-shown/><live/></programme>\n</tv>\n'
xml quirks "<tv>\n<channel id='Channel With Spaces'><display-name>A &amp; B &unknown; &#233;</display-name><icon src='x'/><icon src='x'/></channel>\n<programme channel='Channel With Spaces' start='202601010600 -0500'><desc>Before title</desc><title><![CDATA[<Title>]]></title><title lang='en_NZ'>Second</title></programme>\n</tv>\n"
xml latin1 '<?xml version="1.0" encoding="ISO-8859-1"?>\n<tv><channel id="c"><display-name>Caf\xe9</display-name></channel><programme start="20260101" channel="c"><title>T\xe9l\xe9</title></programme></tv>\n'
xml cp1252 '<?xml version="1.0" encoding="windows-1252"?>\n<tv><programme start="2026010106" channel="c"><title>\x80\x93\x9f</title></programme></tv>\n'
xml other-encoding '<?xml version="1.0" encoding="UTF-16"?>\n<tv><programme start="2026" channel="c"><title>x</title></programme></tv>\n'
xml truncated '<tv>\n<programme start="20260101060000 +0100" channel="c"><title>Cut'
xml unclosed-next '<tv>\n<programme start="20260101060000" channel="a"><title>A</title>\n<programme start="20260101070000" channel="b"><title>B</title></programme>\n<channel id="z"><display-name>Z\n</tv>\n'
xml bad-times '<tv>\n<programme start="2026-01-01" channel="c"><title>x</title></programme>\n<programme start="20261399256199 +9999" stop="bad" channel="c"><title>y</title></programme>\n<programme start="20260101000000" channel=""><title> </title></programme>\n</tv>\n'
xml episodes '<tv><programme start="20260101000000" channel="c"><title>E</title><episode-num system="xmltv_ns">2022.36.0/1</episode-num><episode-num system="xmltv_ns"> . 3 . </episode-num><episode-num system="common">S1E2</episode-num><episode-num system="dd_progid">EP0001</episode-num><date></date></programme></tv>\n'
xml malformed '<tv>\n<programme start="20260101000000" channel="c"><title>ok</title></programme>\n<<<>>><!-- unclosed comment\n<programme start="20260101010000" channel="c"><title>after</title></programme>\n<? pi ?><!DOCTYPE\n</tv>\n'
xml nested '<tv><programme start="20260101000000" channel="c"><title>N</title><desc><br><br><br><b><i>deep</i></b></desc></programme></tv>\n'
xml crlf '\xef\xbb\xbf<tv>\r\n<programme start="20260101000000" channel="c">\r\n<title>Line\r\nbreak</title>\r\n</programme>\r\n</tv>\r\n'
printf '<tv><programme start="20260101000000" channel="c"><title>gz</title></programme></tv>\n' | gzip -9nc >"$corpus/xmltv/gzip"
{ printf '<tv><channel id="a"><display-name>one</display-name></channel></tv>\n' | gzip -9nc
  printf '<tv><channel id="b"><display-name>two</display-name></channel></tv>\n' | gzip -9nc; } >"$corpus/xmltv/gzip-multi"

for t in ws_frame_json ws_frame_proto jwt m3u xmltv; do
    echo "$t: $(find "$corpus/$t" -type f | wc -l) seeds"
done
