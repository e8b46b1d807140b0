#!/usr/bin/env bash
# Proves the repository stands alone: clones it (committed files only) into a fresh directory at
# an arbitrary path and runs `make test` there inside a private mount namespace, with an empty
# tmpfs mounted over every directory named `shared` beside the repository (and beside the main
# checkout, for a git worktree), so nothing outside the clone can be read by accident.
#
#   sudo scripts/check-clean-clone.sh [MAKE_TARGET ...]      # default: test
#
# Needs root (unshare -m, mount). CARGO_TARGET_DIR, when set, is passed through so that the
# dependencies need not be compiled again (the crate itself is built from the clone's sources);
# CLEAN_CLONE_KEEP=1 keeps the clone for inspection. Exit status: make's.
set -euo pipefail

die() { echo "check-clean-clone: $*" >&2; exit 2; }
[[ $(id -u) == 0 ]] || die "needs root (unshare -m and mount)"
command -v unshare >/dev/null || die "unshare (util-linux) is required"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
targets=("${@:-test}")

# Directories to hide: `shared` beside this checkout and beside the main checkout.
common=$(cd "$ROOT" && cd "$(git rev-parse --git-common-dir)" && pwd)
hide=()
for d in "$(dirname "$ROOT")/shared" "$(dirname "$(dirname "$common")")/shared"; do
	[[ -d $d ]] && [[ " ${hide[*]-} " != *" $d "* ]] && hide+=("$d")
done

work=$(mktemp -d /tmp/tcplens-clean-clone.XXXXXX)
if [[ ${CLEAN_CLONE_KEEP:-0} != 1 ]]; then
	trap 'rm -rf "$work"' EXIT
fi
git clone -q --no-hardlinks "$ROOT" "$work/clone"
echo "check-clean-clone: clone of $(git -C "$ROOT" rev-parse --short HEAD) in $work/clone"
echo "check-clean-clone: hidden: ${hide[*]:-(nothing beside the repository)}"

# shellcheck disable=SC2016
unshare -m --propagation private bash -c '
	set -euo pipefail
	clone=$1
	shift
	while [[ $1 != -- ]]; do
		mount -t tmpfs -o size=1m,mode=0755 tcplens-hidden "$1"
		[[ -z $(ls -A "$1") ]] || { echo "check-clean-clone: $1 still readable" >&2; exit 2; }
		shift
	done
	shift
	cd "$clone"
	exec make "$@"
' check "$work/clone" "${hide[@]}" -- "${targets[@]}"
