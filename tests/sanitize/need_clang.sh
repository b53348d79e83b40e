# Sourced by the scripts that build with clang's sanitizers: `need_clang RUNTIME` installs clang
# and its runtimes (Debian ships them apart) unless clang++ is there and finds
# libclang_rt.RUNTIME-x86_64.a (fuzzer, tsan, ...).
need_clang() {
  local archive
  archive=$(clang++ -print-file-name="libclang_rt.$1-x86_64.a" 2>/dev/null || true)
  if ! command -v clang++ >/dev/null || [ ! -e "$archive" ]; then
    local sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
      clang libclang-rt-dev
  fi
}
