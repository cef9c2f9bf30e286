#!/usr/bin/env bash
# Fetches Twilio's Voice JavaScript SDK (@twilio/voice-sdk) with `npm pack`, checks it, and stores its
# dist/twilio.min.js and LICENSE.md in cmd/devserver/web/vendor, which the dev server embeds.
#
#   make softphone-sdk                          the pinned version: the tarball and the file must match
#                                               web/vendor/voice-sdk.pin exactly, or nothing is written
#   make softphone-sdk VOICE_SDK_VERSION=x.y.z  another version: checked against npm's integrity, then
#                                               pinned (review `git diff`, then run make test)
set -euo pipefail
cd "$(dirname "$0")/../.."
vendor=cmd/devserver/web/vendor
pin=$vendor/voice-sdk.pin

pinned() { sed -n "s/^$1=//p" "$pin"; }
version=$(pinned version)
want=${1:-$version}
case $want in
  [0-9]*.[0-9]*.[0-9]*) ;;
  *) echo "voice-sdk: VOICE_SDK_VERSION must be an exact version such as 2.18.5, not '$want'" >&2; exit 2 ;;
esac
command -v npm >/dev/null || { echo "voice-sdk: needs npm (apt-get install -y npm)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# npm pack checks the tarball against the registry's integrity before it writes it.
(cd "$tmp" && npm pack --silent "@twilio/voice-sdk@$want" >/dev/null)
tarball=$(ls "$tmp"/twilio-voice-sdk-*.tgz)
registry_integrity=$(cd "$tmp" && npm view "@twilio/voice-sdk@$want" dist.integrity)
digest() { node -e 'const h=require("crypto").createHash(process.argv[1]);h.update(require("fs").readFileSync(process.argv[2]));console.log(process.argv[3]+h.digest(process.argv[4]))' "$@"; }
integrity=$(digest sha512 "$tarball" sha512- base64)
tar -xzf "$tarball" -C "$tmp" package/dist/twilio.min.js package/LICENSE.md
sha256=$(digest sha256 "$tmp/package/dist/twilio.min.js" "" hex)

fail() { echo "voice-sdk: $*" >&2; exit 1; }
[ "$integrity" = "$registry_integrity" ] || fail "tarball integrity $integrity is not the registry's $registry_integrity"
grep -q "RELEASE_VERSION=\"$want\"" "$tmp/package/dist/twilio.min.js" || fail "dist/twilio.min.js does not say it is $want"
if [ "$want" = "$version" ]; then
  [ "$integrity" = "$(pinned integrity)" ] || fail "$want: tarball integrity $integrity, pinned $(pinned integrity)"
  [ "$sha256" = "$(pinned sha256)" ] || fail "$want: twilio.min.js sha256 $sha256, pinned $(pinned sha256)"
fi

cp "$tmp/package/dist/twilio.min.js" "$vendor/twilio.min.js"
cp "$tmp/package/LICENSE.md" "$vendor/LICENSE.md"
if [ "$want" = "$version" ]; then
  echo "voice-sdk: $want matches $pin (sha256 $sha256)"
else
  sed -i -e "s/^version=.*/version=$want/" -e "s|^integrity=.*|integrity=$integrity|" -e "s/^sha256=.*/sha256=$sha256/" "$pin"
  echo "voice-sdk: pinned $want (was $version) in $pin; review git diff, then make test"
fi
