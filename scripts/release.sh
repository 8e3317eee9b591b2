#!/usr/bin/env bash
# Release builds of Notistream: the server, the gateway and the client as self-contained
# single-file programs per runtime identifier (RID), an archive per RID, the client as a
# `dotnet tool` package, and (with --containers) container images. docs/install.md explains the choices.
set -euo pipefail

all_rids=(linux-x64 linux-arm64 osx-arm64 win-x64)
# project folder under src/ : program name
projects=(RespServer:notistream-server WebhookGateway:notistream-gateway NotiClient:notistream)
# Programs that go into container images (the client is a desktop program).
container_projects=(RespServer WebhookGateway)

usage() {
  cat <<EOF
Usage: scripts/release.sh [options]

Publishes notistream-server, notistream-gateway and notistream (the client) as self-contained
single-file programs, one folder and one archive per RID, and packs the client as a dotnet tool.

Options:
  --rid RID         build for this RID only; repeat it or give a comma-separated list
                    (default: ${all_rids[*]})
  --output DIR      where everything goes (default: artifacts/release in the repository)
  --no-archives     leave out the .tar.gz / .zip archives
  --no-tool         leave out the dotnet tool package (DIR/nupkg)
  --containers      also build container images of the server and the gateway for the chosen
                    linux RIDs (dotnet publish -t:PublishContainer); needs mcr.microsoft.com for
                    the base image; with no docker or podman they are written as archives to
                    DIR/containers
  -h, --help        show this help

Output (DIR = --output):
  DIR/<rid>/                       notistream-server, notistream-gateway, notistream (.exe on win-x64)
  DIR/notistream-<rid>.tar.gz      that folder; win-x64: notistream-win-x64.zip when zip is installed
  DIR/nupkg/notistream.<version>.nupkg   dotnet tool install --global --add-source DIR/nupkg notistream
  DIR/containers/<image>-<rid>.tar.gz    with --containers and no container engine
  DIR/.build/                      intermediate files (the repository's bin/ and obj/ stay untouched)

Needs the .NET SDK (dotnet on PATH, or DOTNET=/path/to/dotnet) and the runtime packs of the RIDs
from the NuGet feed.
EOF
}

die() {
  echo "release.sh: $*" >&2
  exit 1
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rids=()
out="$root/artifacts/release"
archives=1
tool=1
containers=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rid)
      [ $# -ge 2 ] || die "--rid needs a value (one of: ${all_rids[*]})"
      IFS=, read -r -a given <<<"$2"
      rids+=("${given[@]}")
      shift 2
      ;;
    --rid=*)
      IFS=, read -r -a given <<<"${1#--rid=}"
      rids+=("${given[@]}")
      shift
      ;;
    --output)
      [ $# -ge 2 ] || die "--output needs a folder"
      out=$2
      shift 2
      ;;
    --output=*)
      out=${1#--output=}
      shift
      ;;
    --no-archives) archives=0; shift ;;
    --no-tool) tool=0; shift ;;
    --containers) containers=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[ ${#rids[@]} -gt 0 ] || rids=("${all_rids[@]}")
for rid in "${rids[@]}"; do
  case " ${all_rids[*]} " in
    *" $rid "*) ;;
    *) die "unsupported RID '$rid' (one of: ${all_rids[*]})" ;;
  esac
done

dotnet=${DOTNET:-dotnet}
command -v "$dotnet" >/dev/null 2>&1 || die "the .NET SDK is needed: '$dotnet' is not on PATH (or set DOTNET)"
mkdir -p "$out"
out=$(cd "$out" && pwd)
build="$out/.build"

# Checked before anything is built, so a missing registry fails in seconds, not after the builds.
if [ "$containers" -eq 1 ]; then
  if ! timeout 10 bash -c 'exec 3<>/dev/tcp/mcr.microsoft.com/443' 2>/dev/null; then
    die "--containers: mcr.microsoft.com:443 cannot be reached from here, and the container images are built on its base images (mcr.microsoft.com/dotnet/runtime:10.0 and aspnet:10.0). Run it where that registry is reachable, or leave out --containers."
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# Self-contained single file: one program that needs no .NET installed. Not compressed
# (EnableCompressionInSingleFile): the archives come out the same size either way, and compressed
# programs start slower and use more memory (docs/install.md, sizes and start-up). Debug symbols are
# embedded so stack traces keep file names and line numbers without a .pdb beside the program.
# IncludeNativeLibrariesForSelfExtract is left off: none of the programs has a native library
# outside the runtime, which the single-file host already contains, so nothing would be bundled,
# and were one to appear it would be unpacked to a temp folder at every first start.
# ContinuousIntegrationBuild: source paths in the programs as /_/src/..., not the build machine's.
publish_args=(
  -c Release
  --self-contained true
  -p:PublishSingleFile=true
  -p:DebugType=embedded
  -p:ContinuousIntegrationBuild=true
  --artifacts-path "$build"
  -nodeReuse:false
)

for rid in "${rids[@]}"; do
  dest="$out/$rid"
  rm -rf "$dest"
  for entry in "${projects[@]}"; do
    project=${entry%%:*}
    echo "== $project ($rid) -> $dest"
    "$dotnet" publish "$root/src/$project/$project.csproj" -r "$rid" "${publish_args[@]}" -o "$dest"
  done

  if [ "$archives" -eq 1 ]; then
    rm -f "$out/notistream-$rid.tar.gz" "$out/notistream-$rid.zip"
    if [ "$rid" = win-x64 ] && command -v zip >/dev/null 2>&1; then
      (cd "$out" && zip -q -r "notistream-$rid.zip" "$rid")
      echo "== $out/notistream-$rid.zip"
    else
      tar -C "$out" -czf "$out/notistream-$rid.tar.gz" "$rid"
      echo "== $out/notistream-$rid.tar.gz"
    fi
  fi
done

if [ "$tool" -eq 1 ]; then
  rm -rf "$out/nupkg"
  echo "== NotiClient as a dotnet tool -> $out/nupkg"
  "$dotnet" pack "$root/src/NotiClient/NotiClient.csproj" -c Release -p:ContinuousIntegrationBuild=true --artifacts-path "$build" -o "$out/nupkg" -nodeReuse:false
fi

if [ "$containers" -eq 1 ]; then
  engine=
  for candidate in docker podman; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" info >/dev/null 2>&1; then
      engine=$candidate
      break
    fi
  done
  linux_rids=()
  for rid in "${rids[@]}"; do
    case "$rid" in linux-*) linux_rids+=("$rid") ;; esac
  done
  [ ${#linux_rids[@]} -gt 0 ] || die "--containers: the images are Linux images; choose linux-x64 and/or linux-arm64 with --rid"
  mkdir -p "$out/containers"
  for rid in "${linux_rids[@]}"; do
    for project in "${container_projects[@]}"; do
      # Framework-dependent on Microsoft's runtime (server) or ASP.NET Core (gateway) image, which the SDK picks.
      container_args=(-c Release -r "$rid" -t:PublishContainer -p:ContainerImageTag="$rid" -p:ContinuousIntegrationBuild=true --artifacts-path "$build" -nodeReuse:false)
      if [ -z "$engine" ]; then
        image=$(sed -n 's:.*<ContainerRepository>\(.*\)</ContainerRepository>.*:\1:p' "$root/src/$project/$project.csproj")
        container_args+=(-p:ContainerArchiveOutputPath="$out/containers/$image-$rid.tar.gz")
      fi
      echo "== $project container image ($rid)${engine:+ -> $engine}"
      "$dotnet" publish "$root/src/$project/$project.csproj" "${container_args[@]}"
    done
  done
fi

echo "== done: $out"
