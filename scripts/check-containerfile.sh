#!/usr/bin/env bash
# Checks the Containerfile for what can be checked without a container engine or a registry:
#   - its build stage's cargo command (the line after "# build-command:") runs here as it is;
#   - every binary its runtime stage copies was built, runs, and needs no shared library the
#     distroless `cc` runtime lacks (glibc, libm, libgcc_s);
#   - the runtime stage runs as a numeric non-root user, its entrypoint is one of the binaries;
#   - the Rust image is at least the workspace's rust-version;
#   - .dockerignore keeps build output out of the context.
set -euo pipefail
cd "$(dirname "$0")/.."
file=Containerfile

fail() { echo "check-containerfile: $*" >&2; exit 1; }

line_after() { # the first instruction (not a comment) after the marker comment $1
    awk -v marker="$1" 'found && !/^#/ { print; exit } index($0, marker) { found = 1 }' "$file"
}

build=$(line_after "# build-command:")
[[ $build == RUN\ cargo\ build\ --release\ --locked* ]] || fail "no cargo build line after # build-command: ($build)"
echo "== ${build#RUN }"
bash -c "${build#RUN }"

copy=$(line_after "# binaries:")
read -r -a binaries <<<"$(grep -o 'target/release/[a-z0-9-]*' <<<"$copy" | xargs -n1 basename | xargs)"
(( ${#binaries[@]} >= 5 )) || fail "the binaries line names ${#binaries[@]} binaries"
allowed='^(linux-vdso\.so\.1|libc\.so\.6|libm\.so\.6|libgcc_s\.so\.1|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|/lib64/ld-linux-x86-64\.so\.2)$'
for bin in "${binaries[@]}"; do
    path=target/release/$bin
    [[ -x $path ]] || fail "$bin was not built by the build-command line"
    while read -r lib _; do
        [[ $lib =~ $allowed ]] || fail "$bin needs $lib, which the distroless cc image does not have"
    done < <(ldd "$path")
    # Runs as the image's user, with nothing but its own files.
    setpriv --reuid 65532 --regid 65532 --clear-groups "$path" --help >/dev/null \
        || fail "$bin --help fails as user 65532"
    echo "ok  $bin ($(du -h "$path" | cut -f1))"
done

user=$(awk '/^FROM .* AS runtime/ { r = 1 } r && /^USER / { print $2 }' "$file")
[[ $user =~ ^[1-9][0-9]*(:[1-9][0-9]*)?$ ]] || fail "the runtime stage's USER is not numeric non-root ($user)"
entry=$(awk '/^FROM .* AS runtime/ { r = 1 } r && /^ENTRYPOINT/ { print }' "$file" | grep -o '/usr/local/bin/[a-z0-9-]*' | xargs basename)
printf '%s\n' "${binaries[@]}" | grep -qx "$entry" || fail "ENTRYPOINT $entry is not copied"

# The anycast sidecar stage: the scripts it copies exist, and it installs what they run.
sidecar=$(awk '/^FROM .* AS anycast-sidecar/ { r = 1; next } r && /^FROM / { exit } r { print }' "$file")
[[ -n $sidecar ]] || fail "no anycast-sidecar stage"
for package in bird2 curl iproute2; do
    grep -q "install .*$package" <<<"$sidecar" || fail "the anycast-sidecar stage does not install $package"
done
sources=$(grep -o '^COPY [^ ]*' <<<"$sidecar" | cut -d' ' -f2)
compgen -G "$sources" >/dev/null || fail "the anycast-sidecar stage copies $sources, which matches nothing"

image_rust=$(grep -o 'rust:[0-9][0-9.]*' "$file" | head -1 | cut -d: -f2)
workspace_rust=$(grep -m1 '^rust-version' Cargo.toml | cut -d'"' -f2)
[[ $(printf '%s\n%s\n' "$workspace_rust" "$image_rust" | sort -V | head -1) == "$workspace_rust" ]] \
    || fail "rust:$image_rust is older than the workspace's rust-version $workspace_rust"

for ignored in target/ node_modules/ .cache/; do
    grep -qx "$ignored" .dockerignore || fail ".dockerignore does not exclude $ignored"
done
echo "Containerfile: build stage ok, ${#binaries[@]} binaries, user $user, entrypoint $entry, rust $image_rust"
