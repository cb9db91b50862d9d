#!/usr/bin/env bash
# The system packages the test suite needs, beside the Python ones that pip installs:
#   deploy/local/system-deps.sh [check]   one line per dependency (ok / missing); exit 1 if any
#                                          is missing, with the command that installs them
#   deploy/local/system-deps.sh install   install the missing ones with apt-get (root on
#                                          Debian or Ubuntu); elsewhere, say what to install
# Used by .ci/run and `make test`.
set -euo pipefail

PROG="deploy/local/system-deps.sh"
MIN_JAVA=17
PYTHON=${PYTHON:-python3}

MISSING_PKGS=()
MISSING_NAMES=()

report() { # status name detail
    printf '%-8s %-12s %s\n' "$1" "$2" "$3"
}

missing() { # name detail package...
    local name=$1 detail=$2
    shift 2
    report missing "$name" "$detail (package: $*)"
    MISSING_NAMES+=("$name")
    MISSING_PKGS+=("$@")
}

# The first package of the list that apt can install (a JDK is named differently per release).
first_installable() {
    local pkg
    for pkg in "$@"; do
        if command -v apt-cache >/dev/null 2>&1 &&
            apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [^(]'; then
            printf '%s\n' "$pkg"
            return 0
        fi
    done
    printf '%s\n' "$1"
}

# The newest /usr/lib/postgresql/<version>/bin with the server binaries.
postgres_bin() {
    local dir
    while IFS= read -r dir; do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null |
        sort -t / -k 5,5nr)
    return 1
}

check_postgres() {
    local bin
    if ! bin=$(postgres_bin); then
        missing postgresql "PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/<ver>/bin" postgresql
    elif [[ $EUID -eq 0 ]] && ! id -u postgres >/dev/null 2>&1; then
        missing postgresql "the 'postgres' user that runs the test server as root" postgresql
    else
        report ok postgresql "$("$bin/postgres" --version) in $bin"
    fi
}

check_command() { # command name detail package
    local path
    if path=$(command -v "$1" 2>/dev/null); then
        report ok "$2" "$path"
    else
        missing "$2" "$3" "$4"
    fi
}

java_major() {
    local java=$1 spec
    spec=$("$java" -XshowSettings:properties -version 2>&1 |
        sed -n 's/^ *java\.specification\.version = //p' | head -n 1) || true
    spec=${spec#1.}
    printf '%s\n' "${spec%%.*}"
}

check_java() {
    local java="" major=""
    if [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then
        java="$JAVA_HOME/bin/java"
    elif command -v java >/dev/null 2>&1; then
        java=$(command -v java)
    fi
    [[ -z "$java" ]] || major=$(java_major "$java")
    if [[ "$major" =~ ^[0-9]+$ ]] && ((major >= MIN_JAVA)); then
        report ok java "Java $major ($java)"
    else
        local why="no java on PATH or in JAVA_HOME"
        [[ -z "$java" ]] || why="$java is Java ${major:-?}"
        missing java "a Java $MIN_JAVA+ JDK for the local Kafka broker: $why" \
            "$(first_installable openjdk-17-jdk-headless openjdk-21-jdk-headless default-jdk-headless)"
    fi
}

# Debian splits `python3 -m venv` (with pip) into python3-venv: check the venv module and the
# ensurepip with its bundled pip, without paying for a whole venv with pip each time.
check_venv() {
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        missing python3-venv "$PYTHON, to create .venv" python3 python3-venv
        return 0
    fi
    local tmp ok=0 pip=""
    tmp=$(mktemp -d)
    if "$PYTHON" -m venv --without-pip "$tmp/venv" >/dev/null 2>&1 &&
        pip=$("$tmp/venv/bin/python" -c 'import ensurepip; print(ensurepip.version())' 2>/dev/null) &&
        [[ -n "$pip" ]]; then
        ok=1
    fi
    rm -rf -- "$tmp"
    if ((ok)); then
        report ok python3-venv "$("$PYTHON" --version 2>&1): venv with pip $pip"
    else
        missing python3-venv "'$PYTHON -m venv' cannot create a venv with pip" python3-venv
    fi
}

check_all() {
    MISSING_PKGS=()
    MISSING_NAMES=()
    check_postgres
    check_command promtool prometheus "promtool, to lint the alerting rules and metrics" prometheus
    check_command kcat kcat "kcat, an independent Kafka client for tests" kcat
    check_java
    check_command mvn maven "Maven, to fetch the Kafka broker's jars" maven
    check_command make make "make, to run the project's targets" make
    check_venv
}

is_debian_like() {
    [[ -r /etc/os-release ]] && grep -qiE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release &&
        command -v apt-get >/dev/null 2>&1
}

install_command() {
    printf 'apt-get install -y --no-install-recommends %s' "${MISSING_PKGS[*]}"
}

apt_knows() {
    apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [^(]'
}

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    local pkg updated=0
    for pkg in "${MISSING_PKGS[@]}"; do
        if ! apt_knows "$pkg"; then
            echo "+ apt-get update (no candidate for $pkg yet)"
            apt-get update -q
            updated=1
            break
        fi
    done
    echo "+ $(install_command)"
    if ! apt-get install -y -q --no-install-recommends "${MISSING_PKGS[@]}"; then
        ((updated == 0)) || return 1
        echo "+ apt-get update (the package lists may be stale), then again"
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${MISSING_PKGS[@]}"
    fi
}

main() {
    local mode=${1:-check}
    case "$mode" in
    check | install) ;;
    -h | --help)
        sed -n '2,7s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
        return 0
        ;;
    *)
        echo "$PROG: unknown mode '$mode' (check or install)" >&2
        return 2
        ;;
    esac
    check_all
    ((${#MISSING_PKGS[@]} > 0)) || return 0
    if [[ "$mode" == install ]]; then
        if [[ $EUID -eq 0 ]] && is_debian_like; then
            apt_install
            echo "after installing:"
            check_all
            ((${#MISSING_PKGS[@]} == 0)) && return 0
            echo "$PROG: still missing: ${MISSING_NAMES[*]}" >&2
            return 1
        fi
        echo "$PROG: cannot install by itself here (needs root on Debian or Ubuntu)." >&2
    fi
    echo "$PROG: missing: ${MISSING_NAMES[*]}" >&2
    if is_debian_like; then
        local sudo=""
        [[ $EUID -eq 0 ]] || sudo="sudo "
        echo "$PROG: install them with: ${sudo}$(install_command)" >&2
        echo "$PROG: (or, as root: $PROG install)" >&2
    else
        echo "$PROG: install the equivalents of these Debian packages: ${MISSING_PKGS[*]}" >&2
    fi
    return 1
}

main "$@"
