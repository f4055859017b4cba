#!/usr/bin/env bash
# Fetches DynamoDB Local (AWS's own emulator, Java) for the integration tests, through the npm
# registry: the package amplify-dynamodb-simulator carries it under `emulator/`. Only that folder
# (DynamoDBLocal.jar and DynamoDBLocal_lib, ~64 MB) is kept; the package's ~240 MB of
# dependencies are never installed.
#
#   scripts/fetch-dynamodb-local.sh        # into .ci/cache/dynamodb-local/ (git-ignored)
#   DYNAMODB_LOCAL_DIR=/opt/ddb scripts/fetch-dynamodb-local.sh
#
# Idempotent: when the jar of this version is there already, it only prints where it is.
# The last line of its output is the directory, for scripts that want it.
set -euo pipefail

readonly PACKAGE='amplify-dynamodb-simulator'
readonly VERSION='2.9.30'
# The npm tarball's integrity as the registry publishes it (`npm view amplify-dynamodb-simulator@2.9.30 dist.integrity`).
readonly INTEGRITY='sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ=='
# What the marker holds once a complete copy is in place; written last.
readonly MARKER_CONTENT="${PACKAGE}@${VERSION}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${DYNAMODB_LOCAL_DIR:-$root/.ci/cache/dynamodb-local}"
marker="$dir/.fetched-from"

is_complete() {
  [[ -f "$dir/DynamoDBLocal.jar" && -d "$dir/DynamoDBLocal_lib" && -f "$marker" ]] &&
    [[ "$(cat "$marker")" == "$MARKER_CONTENT" ]]
}

if is_complete; then
  echo "DynamoDB Local (${MARKER_CONTENT}) is already in:" >&2
  echo "$dir"
  exit 0
fi

for tool in npm tar openssl base64; do
  command -v "$tool" >/dev/null || {
    echo "fetch-dynamodb-local: '$tool' is needed but not installed" >&2
    exit 1
  }
done

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
marker="$dir/.fetched-from"
# Two fetches at once (two test runs, two worktrees sharing a DYNAMODB_LOCAL_DIR) take turns.
if command -v flock >/dev/null; then
  exec 9>"$dir/.lock"
  flock 9
  if is_complete; then
    echo "DynamoDB Local (${MARKER_CONTENT}) is in:" >&2
    echo "$dir"
    exit 0
  fi
fi
# Staging beside the target, so the final moves stay on one file system.
staging="$(mktemp -d "$dir/.staging.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

echo "Fetching ${PACKAGE}@${VERSION} from the npm registry..." >&2
tarball="$(cd "$staging" && npm pack "${PACKAGE}@${VERSION}" --silent | tail -n 1)"
if [[ -z "$tarball" || ! -f "$staging/$tarball" ]]; then
  echo "fetch-dynamodb-local: npm pack ${PACKAGE}@${VERSION} produced no tarball" >&2
  exit 1
fi

actual="sha512-$(openssl dgst -sha512 -binary "$staging/$tarball" | base64 | tr -d '\n')"
if [[ "$actual" != "$INTEGRITY" ]]; then
  echo "fetch-dynamodb-local: integrity mismatch for $tarball" >&2
  echo "  expected $INTEGRITY" >&2
  echo "  got      $actual" >&2
  exit 1
fi

tar -xzf "$staging/$tarball" -C "$staging" package/emulator
rm -f "$staging/$tarball"
emulator="$staging/package/emulator"
if [[ ! -s "$emulator/DynamoDBLocal.jar" || ! -d "$emulator/DynamoDBLocal_lib" ]]; then
  echo "fetch-dynamodb-local: ${PACKAGE}@${VERSION} has no emulator/DynamoDBLocal.jar" >&2
  exit 1
fi

# Replace only what this script owns in the directory (it may be a user-chosen one).
rm -f "$marker"
rm -rf "$dir/DynamoDBLocal_lib" "$dir/DynamoDBLocal.jar"
for name in LICENSE.txt README.txt THIRD-PARTY-LICENSES.txt; do
  if [[ -f "$emulator/$name" ]]; then mv -f "$emulator/$name" "$dir/$name"; fi
done
mv "$emulator/DynamoDBLocal_lib" "$dir/DynamoDBLocal_lib"
mv "$emulator/DynamoDBLocal.jar" "$dir/DynamoDBLocal.jar"
printf '%s' "$MARKER_CONTENT" >"$marker"

if ! is_complete; then
  echo "fetch-dynamodb-local: $dir/DynamoDBLocal.jar is missing after extraction" >&2
  exit 1
fi
echo "DynamoDB Local (${MARKER_CONTENT}) is in:" >&2
echo "$dir"
