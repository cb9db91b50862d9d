#!/usr/bin/env bash
# A real, single-node Apache Kafka broker (KRaft, broker + controller in one JVM) on
# 127.0.0.1, built from the official jars on Maven Central: no Docker, no tarball.
# Run `deploy/local/kafka.sh --help` for the commands and the variables.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)
POM="$SCRIPT_DIR/pom.xml"
LOG4J_CONFIG="$SCRIPT_DIR/log4j2.properties"
PROG="deploy/local/kafka.sh"
MIN_JAVA=17

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

note() {
    printf '%s: %s\n' "$PROG" "$*" >&2
}

usage() {
    cat <<EOF
Usage: $PROG COMMAND [ARGS...]

A local single-node Kafka broker (KRaft combined mode) on 127.0.0.1 for development and tests,
run from the official Apache Kafka jars on Maven Central (resolved once by Maven, then cached).

Secured by default: clients connect with SASL_SSL (SCRAM-SHA-512) and nothing else; the
controller listener takes TLS client certificates only; KRaft's StandardAuthorizer denies
whatever no ACL allows, and only the broker (lt-broker) and the administrator (lt-admin) are
super users. The first start makes a local CA, the broker's certificate and both passwords
under the state dir (tls/, secrets/: never commit them) and prints where they are.

Commands:
  fetch                 resolve the broker's jars into the cache (once; later runs do nothing)
  start                 fetch if needed, format the data dir once, start the broker in the
                        background and wait until it accepts connections; prints
                        bootstrap=, log= and pid= lines (also when it was already running)
  stop                  stop the broker (SIGTERM, SIGKILL after the stop timeout)
  restart               stop, then start on the same data dir
  status                print bootstrap=, log= and pid= and exit 0 when running;
                        exit 3 when not running, 4 when the process is alive but not
                        accepting connections (starting or stopping)
  run-class CLASS [ARGS...]
                        run a Java class on the broker's classpath with a short-lived JVM,
                        e.g. org.apache.kafka.tools.ProducerPerformance --bootstrap-server ...
  classpath             print the classpath (fetching the jars if needed)
  client-properties     print the path of a Java client properties file for the
                        administrator (tools' --command-config)
  -h, --help            this text

Environment (defaults in brackets):
  LIENTHONG_LOCAL_KAFKA_VERSION     Kafka version [the kafka.version of deploy/local/pom.xml]
  LIENTHONG_LOCAL_KAFKA_CACHE       jar cache dir, jars in its lib/
                                    [\${XDG_CACHE_HOME:-\$HOME/.cache}/lienthong/kafka-VERSION]
  LIENTHONG_LOCAL_KAFKA_HOME        state dir: server.properties, data/, kafka.log, kafka.pid,
                                    tmp/ [<repo>/.local/kafka]
  LIENTHONG_LOCAL_KAFKA_PORT        client (SASL_SSL) port [9092]
  LIENTHONG_LOCAL_KAFKA_CONTROLLER_PORT
                                    KRaft controller port [client port + 1]
  LIENTHONG_LOCAL_KAFKA_HEAP        broker max heap (-Xmx) [512m]
  LIENTHONG_LOCAL_KAFKA_START_TIMEOUT
                                    seconds to wait for the broker to accept connections [90]
  LIENTHONG_LOCAL_KAFKA_STOP_TIMEOUT
                                    seconds to wait after SIGTERM before SIGKILL [30]
  LIENTHONG_LOCAL_KAFKA_JAVA_OPTS   extra JVM options for the broker (word-split) []
  LIENTHONG_LOCAL_KAFKA_TOOL_OPTS   extra JVM options for run-class, after the defaults
                                    (-Xmx256m -XX:TieredStopAtLevel=1), e.g.
                                    -XX:TieredStopAtLevel=4 for a long benchmark []
  LIENTHONG_LOCAL_KAFKA_CDS         0 disables the class data sharing archive that the
                                    first clean stop saves in the cache for faster starts [1]
  LIENTHONG_LOCAL_KAFKA_INSECURE    1: a PLAINTEXT broker with no authorizer, for benchmarks
                                    that measure the cost of security, never for anything
                                    else; it says so loudly. Fixed when the data dir is
                                    formatted [0]
  JAVA_HOME                         java is \$JAVA_HOME/bin/java if set, else java on PATH
                                    (Java $MIN_JAVA or newer)
EOF
}

# --- settings -------------------------------------------------------------------------------

pom_version() {
    sed -n 's:.*<kafka\.version>\([^<]*\)</kafka\.version>.*:\1:p' "$POM" | head -n 1
}

VERSION=${LIENTHONG_LOCAL_KAFKA_VERSION:-$(pom_version)}
[[ -n "$VERSION" ]] || die "cannot read <kafka.version> from $POM"
CACHE_DIR=${LIENTHONG_LOCAL_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lienthong/kafka-$VERSION}
LIB_DIR="$CACHE_DIR/lib"
STATE_DIR=${LIENTHONG_LOCAL_KAFKA_HOME:-$REPO_ROOT/.local/kafka}
PORT=${LIENTHONG_LOCAL_KAFKA_PORT:-9092}
HEAP=${LIENTHONG_LOCAL_KAFKA_HEAP:-512m}
START_TIMEOUT=${LIENTHONG_LOCAL_KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${LIENTHONG_LOCAL_KAFKA_STOP_TIMEOUT:-30}

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
check_port() {
    if ! is_uint "$2" || ((10#$2 < 1 || 10#$2 > 65535)); then
        die "$1 must be a TCP port number (1-65535), not '$2'"
    fi
}
check_port LIENTHONG_LOCAL_KAFKA_PORT "$PORT"
PORT=$((10#$PORT))
CONTROLLER_PORT=${LIENTHONG_LOCAL_KAFKA_CONTROLLER_PORT:-$((PORT + 1))}
check_port LIENTHONG_LOCAL_KAFKA_CONTROLLER_PORT "$CONTROLLER_PORT"
CONTROLLER_PORT=$((10#$CONTROLLER_PORT))
((CONTROLLER_PORT != PORT)) || die "the client and controller ports are both $PORT"
is_uint "$START_TIMEOUT" || die "LIENTHONG_LOCAL_KAFKA_START_TIMEOUT must be whole seconds"
is_uint "$STOP_TIMEOUT" || die "LIENTHONG_LOCAL_KAFKA_STOP_TIMEOUT must be whole seconds"
[[ "$STATE_DIR" == /* ]] || STATE_DIR="$PWD/$STATE_DIR"

DATA_DIR="$STATE_DIR/data"
LOG_FILE="$STATE_DIR/kafka.log"
PID_FILE="$STATE_DIR/kafka.pid"
PROPS_FILE="$STATE_DIR/server.properties"
BOOTSTRAP="127.0.0.1:$PORT"
TLS_DIR="$STATE_DIR/tls"
SECRETS_DIR="$STATE_DIR/secrets"
CA_FILE="$TLS_DIR/ca.pem"
ADMIN_USER="lt-admin"
BROKER_USER="lt-broker"
ADMIN_PASSWORD_FILE="$SECRETS_DIR/$ADMIN_USER.password"
BROKER_PASSWORD_FILE="$SECRETS_DIR/$BROKER_USER.password"
ADMIN_PROPERTIES="$STATE_DIR/admin.properties"
# The security a data dir was formatted with (its SCRAM credentials live in its metadata).
SECURITY_STAMP="$STATE_DIR/security"
case "${LIENTHONG_LOCAL_KAFKA_INSECURE:-0}" in
0 | "") SECURITY=SASL_SSL ;;
1) SECURITY=PLAINTEXT ;;
*) die "LIENTHONG_LOCAL_KAFKA_INSECURE must be 0 or 1, not '$LIENTHONG_LOCAL_KAFKA_INSECURE'" ;;
esac

# --- java and the jars ----------------------------------------------------------------------

JAVA=""
JAVA_BUILD="" # java.home and java.vm.version: what a CDS archive is valid for
find_java() {
    [[ -z "$JAVA" ]] || return 0
    local java="java"
    if [[ -n "${JAVA_HOME:-}" ]]; then
        java="$JAVA_HOME/bin/java"
        [[ -x "$java" ]] || die "JAVA_HOME is $JAVA_HOME but $java is not executable"
    elif ! command -v java >/dev/null 2>&1; then
        die "java not found: install a Java $MIN_JAVA+ JDK or JRE (deploy/local/system-deps.sh install) or set JAVA_HOME"
    fi
    local settings spec major
    settings=$("$java" -XshowSettings:properties -version 2>&1) || true
    spec=$(sed -n 's/^ *java\.specification\.version = //p' <<<"$settings" | head -n 1)
    major=${spec#1.}
    major=${major%%.*}
    is_uint "$major" || die "cannot tell the version of $java"
    ((major >= MIN_JAVA)) || die "$java is Java $spec; Kafka $VERSION needs Java $MIN_JAVA or newer (set JAVA_HOME)"
    JAVA="$java"
    JAVA_BUILD=$(sed -n 's/^ *\(java\.home\|java\.vm\.version\) = //p' <<<"$settings" | tr '\n' ' ')
}

pom_sum() {
    sha256sum "$POM" | cut -d ' ' -f 1
}

# The cache is complete when lib/.complete names the version and the pom it was made from.
cache_stamp() {
    printf 'kafka.version=%s pom.sha256=%s\n' "$VERSION" "$(pom_sum)"
}

cache_ok() {
    [[ -f "$LIB_DIR/.complete" && "$(cat "$LIB_DIR/.complete")" == "$(cache_stamp)" ]]
}

FETCH_TMP=""
cleanup_fetch() {
    if [[ -n "$FETCH_TMP" ]]; then
        rm -rf -- "$FETCH_TMP"
    fi
}

cmd_fetch() {
    if cache_ok; then
        note "Kafka $VERSION jars already in $LIB_DIR: nothing to fetch"
        return 0
    fi
    find_java
    command -v mvn >/dev/null 2>&1 ||
        die "mvn not found: install Maven (deploy/local/system-deps.sh install, or apt-get install maven)"
    mkdir -p -- "$CACHE_DIR"
    # Leftovers of fetches killed outright (an interrupted one cleans up after itself).
    find "$CACHE_DIR" -mindepth 1 -maxdepth 1 -name '.fetch.*' -mmin +120 -exec rm -rf -- {} +
    # Resolve into a temporary dir beside lib/ (same file system), then rename it into
    # place: an interrupted fetch leaves no half-filled lib/ behind.
    FETCH_TMP=$(mktemp -d "$CACHE_DIR/.fetch.XXXXXX")
    trap cleanup_fetch EXIT
    trap 'exit 130' INT TERM
    cp -- "$POM" "$FETCH_TMP/pom.xml"
    note "resolving Kafka $VERSION jars with Maven into $LIB_DIR ..."
    local started=$SECONDS
    # Debian's Maven 3.8 prints colour resets even in batch mode: strip them.
    (
        cd -- "$FETCH_TMP"
        mvn -B -q -Dstyle.color=never -f pom.xml \
            -Dkafka.version="$VERSION" \
            dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$FETCH_TMP/lib"
    ) 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2 ||
        die "Maven could not resolve the Kafka $VERSION jars (see its output above)"
    [[ -f "$FETCH_TMP/lib/kafka_2.13-$VERSION.jar" ]] ||
        die "Maven finished but kafka_2.13-$VERSION.jar is not among the jars"
    compgen -G "$FETCH_TMP/lib/log4j-slf4j-impl-*.jar" >/dev/null ||
        die "Maven finished but the log4j-slf4j-impl binding is not among the jars"
    cache_stamp >"$FETCH_TMP/lib/.complete"
    if [[ -e "$LIB_DIR" ]]; then
        if cache_ok; then # another fetch finished first
            note "Kafka $VERSION jars already in $LIB_DIR (fetched concurrently)"
            return 0
        fi
        # A cache made from another pom or version: swap it out.
        mv -T -- "$LIB_DIR" "$FETCH_TMP/old-lib"
    fi
    mv -T -- "$FETCH_TMP/lib" "$LIB_DIR" || cache_ok ||
        die "could not move the jars into $LIB_DIR"
    local count
    count=$(find "$LIB_DIR" -maxdepth 1 -name '*.jar' | wc -l)
    note "fetched $count jars ($(du -sh "$LIB_DIR" | cut -f 1)) in $((SECONDS - started)) s into $LIB_DIR"
}

ensure_fetched() {
    cache_ok || cmd_fetch
}

CLASSPATH_STR=""
build_classpath() {
    local jars=("$LIB_DIR"/*.jar)
    [[ -e "${jars[0]}" ]] || die "no jars in $LIB_DIR (run: $PROG fetch)"
    local IFS=:
    CLASSPATH_STR="${jars[*]}"
}

# Options of a short-lived tool JVM; logs (WARN and up) go to stderr.
TOOL_JVM_OPTS=(
    -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$LOG4J_CONFIG"
    -Dlienthong.kafka.log.level=WARN -Dlienthong.kafka.log.target=SYSTEM_ERR
)
if [[ -n "${LIENTHONG_LOCAL_KAFKA_TOOL_OPTS:-}" ]]; then
    read -r -a _tool_extra <<<"$LIENTHONG_LOCAL_KAFKA_TOOL_OPTS"
    TOOL_JVM_OPTS+=("${_tool_extra[@]}")
fi

# --- process state --------------------------------------------------------------------------

alive() {
    local pid=$1 state
    kill -0 "$pid" 2>/dev/null || return 1
    # A zombie (exited, not yet reaped) is not alive.
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null) || true
    [[ "$state" != "Z" ]]
}

# Prints the broker's pid when the pid file names a live process that is this state dir's
# broker (and not a recycled pid); fails otherwise.
broker_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid=$(<"$PID_FILE")
    is_uint "$pid" && alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "kafka.Kafka $PROPS_FILE" || return 1
    printf '%s\n' "$pid"
}

port_open() {
    # A connect to loopback either succeeds or is refused at once.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The client port the running broker was started with (server.properties is rewritten at
# every start), which may differ from LIENTHONG_LOCAL_KAFKA_PORT now.
running_port() {
    sed -n 's|^listeners=[A-Z]*://127\.0\.0\.1:\([0-9]*\),.*|\1|p' "$PROPS_FILE" 2>/dev/null |
        head -n 1
}

print_running() { # pid [port]
    local security
    security=$(cat "$SECURITY_STAMP" 2>/dev/null || printf '%s' "$SECURITY")
    printf 'bootstrap=127.0.0.1:%s\nlog=%s\npid=%s\nsecurity=%s\n' "${2:-$PORT}" "$LOG_FILE" "$1" \
        "$security"
    if [[ "$security" == SASL_SSL ]]; then
        printf 'ca=%s\nadmin_user=%s\nadmin_password_file=%s\nadmin_properties=%s\n' \
            "$CA_FILE" "$ADMIN_USER" "$ADMIN_PASSWORD_FILE" "$ADMIN_PROPERTIES"
    fi
}

now_ms() {
    local t
    t=$(date +%s%N)
    printf '%s\n' "$((t / 1000000))"
}

lock_state() {
    mkdir -p -- "$STATE_DIR"
    exec 9>"$STATE_DIR/.lock"
    flock -w "$((START_TIMEOUT + STOP_TIMEOUT + 30))" 9 ||
        die "another $PROG is busy with $STATE_DIR"
}

# --- class data sharing --------------------------------------------------------------------
# AppCDS: the first broker started from a cache records the classes it loaded into an
# archive when it exits (-XX:ArchiveClassesAtExit, written during a clean stop); `stop`
# moves it into the cache, and later starts map it (-XX:SharedArchiveFile): about 1 s faster
# and 30 MB less RSS. The archive is keyed by the JVM build and the jar set; a stale one is
# merely ignored by the JVM.
CDS_DUMP="$STATE_DIR/broker.jsa.new"

cds_enabled() {
    [[ "${LIENTHONG_LOCAL_KAFKA_CDS:-1}" != "0" ]]
}

cds_archive() {
    local key
    key=$(printf '%s|%s' "$JAVA_BUILD" "$(cat "$LIB_DIR/.complete")" | sha256sum | cut -c 1-16)
    printf '%s\n' "$CACHE_DIR/cds/broker-$key.jsa"
}

# After a clean stop: keep the archive the broker wrote on exit, if the cache has none yet.
cds_promote() {
    [[ -f "$CDS_DUMP" && -f "$LIB_DIR/.complete" ]] || return 0
    local archive tmp
    archive=$(cds_archive)
    if [[ ! -f "$archive" ]] && mkdir -p -- "${archive%/*}" &&
        tmp=$(mktemp "${archive%/*}/.jsa.XXXXXX") && cp -- "$CDS_DUMP" "$tmp"; then
        chmod 0444 -- "$tmp"
        mv -f -- "$tmp" "$archive"
        note "saved a class data sharing archive for faster starts: $archive"
    fi
    rm -f -- "$CDS_DUMP" "${tmp:-}"
}

# --- commands -------------------------------------------------------------------------------

# --- security -------------------------------------------------------------------------------
# A local CA and the broker's certificate (EC P-256; SANs 127.0.0.1 and localhost, so clients
# verify the host name), made once per state dir. The broker's key doubles as its client
# certificate on the controller listener, where CN=lt-broker is its principal.
ensure_tls() {
    [[ -f "$CA_FILE" && -f "$TLS_DIR/broker.pem" ]] && return 0
    command -v openssl >/dev/null 2>&1 || die "openssl not found: install it (apt-get install openssl)"
    local tmp
    tmp=$(mktemp -d "$STATE_DIR/.tls.XXXXXX")
    (
        umask 077
        cd -- "$tmp"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout ca.key -out ca.pem -days 3650 -subj "/CN=Lienthong local CA" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout broker.key -out broker.csr -subj "/CN=$BROKER_USER"
        printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
            "extendedKeyUsage=serverAuth,clientAuth" "basicConstraints=CA:FALSE" >broker.ext
        openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -out broker.crt -days 825 -extfile broker.ext
        # A PEM key store: the PKCS#8 key, then the chain.
        cat broker.key broker.crt ca.pem >broker.pem
        rm -f broker.csr broker.ext ca.srl
        chmod 0644 ca.pem
    ) >>"$STATE_DIR/tls.log" 2>&1 || die "openssl could not make the local CA (see $STATE_DIR/tls.log)"
    rm -rf -- "$TLS_DIR"
    mv -T -- "$tmp" "$TLS_DIR"
    chmod 0755 -- "$TLS_DIR"
    note "made a local CA and the broker's certificate in $TLS_DIR (clients trust $CA_FILE)"
}

new_password() {
    head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

ensure_secrets() {
    mkdir -p -m 0700 -- "$SECRETS_DIR"
    local file
    for file in "$ADMIN_PASSWORD_FILE" "$BROKER_PASSWORD_FILE"; do
        [[ -s "$file" ]] || (umask 077 && new_password >"$file")
    done
}

jaas() { # user password-file
    printf 'org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";' \
        "$1" "$(<"$2")"
}

# The administrator's Java client settings, for the tools' --command-config.
write_admin_properties() {
    (
        umask 077
        cat >"$ADMIN_PROPERTIES" <<EOF
# Written by $PROG: the super user $ADMIN_USER on 127.0.0.1:$PORT. Keep it private.
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$(jaas "$ADMIN_USER" "$ADMIN_PASSWORD_FILE")
ssl.truststore.type=PEM
ssl.truststore.location=$CA_FILE
EOF
    )
}

# Refuses a data dir formatted with the other security: its credentials would be missing.
check_security_stamp() {
    [[ -f "$DATA_DIR/meta.properties" ]] || return 0
    local formatted
    formatted=$(cat "$SECURITY_STAMP" 2>/dev/null || echo PLAINTEXT)
    [[ "$formatted" == "$SECURITY" ]] ||
        die "$DATA_DIR was formatted for $formatted clients, not $SECURITY: remove $STATE_DIR (or set LIENTHONG_LOCAL_KAFKA_HOME to another dir) and start again"
}

listener_properties() {
    if [[ "$SECURITY" == PLAINTEXT ]]; then
        cat <<EOF
# INSECURE (LIENTHONG_LOCAL_KAFKA_INSECURE=1): anyone on this machine reads and writes anything.
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
EOF
        return 0
    fi
    cat <<EOF
# Clients: SASL_SSL with SCRAM-SHA-512 only. The controller listener: TLS with a client
# certificate (KRaft keeps SCRAM credentials in the metadata log, which a controller needs
# before it could check one). No plaintext listener, no anonymous principal.
listeners=CLIENT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=CLIENT://127.0.0.1:$PORT
inter.broker.listener.name=CLIENT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CLIENT:SASL_SSL,CONTROLLER:SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=$(jaas "$BROKER_USER" "$BROKER_PASSWORD_FILE")
listener.name.controller.ssl.client.auth=required
ssl.keystore.type=PEM
ssl.keystore.location=$TLS_DIR/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$CA_FILE
ssl.endpoint.identification.algorithm=https
# CN=lt-broker on a certificate is the principal User:lt-broker.
ssl.principal.mapping.rules=RULE:^CN=([^,]+)\$/\$1/,DEFAULT
# Re-authenticate SASL connections at least every 60 s: a removed user or a changed password
# cuts off live clients within a minute, not only new connections.
connections.max.reauth.ms=60000

authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:$BROKER_USER;User:$ADMIN_USER
EOF
}

write_properties() {
    (
        umask 077
        cat >"$PROPS_FILE" <<EOF
# Written by $PROG at every start: edits are lost.
# One KRaft node that is both broker and controller, reachable on loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
$(listener_properties)
log.dirs=$DATA_DIR

# Topics are created on purpose, by the deployment or the test that needs them.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1

# Internal topics of one node: replication 1, and one partition rather than 50 each.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1

# Tests: no 3 s wait before the first rebalance of a group, a 2 MiB rather than 128 MiB
# compaction buffer, one recovery thread.
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=2097152
log.cleaner.threads=1
num.recovery.threads.per.data.dir=1
EOF
    )
}

# A Kafka Uuid: 16 random bytes, URL-safe base64 without padding, not starting with '-'.
new_cluster_id() {
    local id=""
    while [[ -z "$id" || "$id" == -* ]]; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    done
    printf '%s\n' "$id"
}

close_fds_above_2() {
    local path fd
    for path in /proc/"$BASHPID"/fd/*; do
        fd=${path##*/}
        if is_uint "$fd" && ((fd > 2)) && [[ -e "$path" ]]; then
            exec {fd}>&-
        fi
    done
}

# Writes meta.properties and the bootstrap metadata: once per data dir. With
# controller.quorum.voters (a static quorum) the format takes no --standalone.
format_storage() {
    local cluster_id class
    cluster_id=$(new_cluster_id)
    # kafka.tools.StorageTool up to 4.1 at least; later versions may move it to Java.
    # The broker's and the administrator's SCRAM credentials go into the bootstrap metadata:
    # no one could authenticate to create the first one otherwise.
    local -a scram=()
    if [[ "$SECURITY" == SASL_SSL ]]; then
        scram=(--add-scram "SCRAM-SHA-512=[name=$BROKER_USER,password=$(<"$BROKER_PASSWORD_FILE")]"
            --add-scram "SCRAM-SHA-512=[name=$ADMIN_USER,password=$(<"$ADMIN_PASSWORD_FILE")]")
    fi
    for class in kafka.tools.StorageTool org.apache.kafka.tools.StorageTool; do
        if "$JAVA" "${TOOL_JVM_OPTS[@]}" -cp "$CLASSPATH_STR" "$class" format \
            --cluster-id "$cluster_id" --config "$PROPS_FILE" --ignore-formatted "${scram[@]}" \
            >>"$LOG_FILE" 2>&1; then
            printf '%s\n' "$SECURITY" >"$SECURITY_STAMP"
            return 0
        fi
        grep -q "Could not find or load main class $class" "$LOG_FILE" || return 1
    done
    return 1
}

log_tail() {
    if [[ -f "$LOG_FILE" ]]; then
        printf -- '--- last 40 lines of %s ---\n' "$LOG_FILE" >&2
        tail -n 40 -- "$LOG_FILE" >&2
        printf -- '---\n' >&2
    fi
}

# Waits for the broker to accept connections; returns 1 if the process died, 2 on timeout.
# The client port is bound, and the kernel completes TCP handshakes on it, seconds before the
# broker serves a request: after an unclean stop it first waits for the controller to fence its
# old session (about broker.session.timeout.ms). A client in that gap hangs, or times out. So
# the broker is ready once this run's log says it started and the port is open.
STARTED_LINE='Kafka Server started'
serving() { # port
    grep -q -F -- "$STARTED_LINE" "$LOG_FILE" 2>/dev/null && port_open "$1"
}

wait_ready() {
    local pid=$1 deadline=$(($(now_ms) + START_TIMEOUT * 1000))
    while true; do
        alive "$pid" || return 1
        serving "$PORT" && return 0
        (($(now_ms) < deadline)) || return 2
        sleep 0.1
    done
}

cmd_start() {
    ensure_fetched
    find_java
    lock_state
    local pid started rc=0
    started=$(now_ms)
    if pid=$(broker_pid); then
        local actual
        actual=$(running_port)
        [[ -z "$actual" || "$actual" == "$PORT" ]] ||
            die "the broker of $STATE_DIR already runs on 127.0.0.1:$actual (pid $pid), not on port $PORT: stop it first"
        wait_ready "$pid" || rc=$?
        if ((rc == 0)); then
            print_running "$pid"
            note "already running"
            return 0
        fi
        ((rc == 1)) || {
            log_tail
            die "pid $pid is alive but $BOOTSTRAP served no connection within ${START_TIMEOUT} s"
        }
    fi
    rm -f -- "$PID_FILE"
    local p
    for p in "$PORT" "$CONTROLLER_PORT"; do
        ! port_open "$p" ||
            die "127.0.0.1:$p is already in use by another process (not the broker of $STATE_DIR); choose other ports with LIENTHONG_LOCAL_KAFKA_PORT / LIENTHONG_LOCAL_KAFKA_CONTROLLER_PORT"
    done
    mkdir -p -- "$STATE_DIR/tmp"
    chmod 0700 -- "$STATE_DIR"
    check_security_stamp
    if [[ "$SECURITY" == SASL_SSL ]]; then
        ensure_tls
        ensure_secrets
        write_admin_properties
    else
        note "WARNING: INSECURE broker (LIENTHONG_LOCAL_KAFKA_INSECURE=1): PLAINTEXT, no authentication, no ACLs. For benchmarks that measure the cost of security, nothing else."
    fi
    write_properties
    build_classpath
    # Keep the previous run's log: it explains what happened before a restart.
    [[ ! -f "$LOG_FILE" ]] || mv -f -- "$LOG_FILE" "$LOG_FILE.1"
    : >"$LOG_FILE"
    if [[ ! -f "$DATA_DIR/meta.properties" ]]; then
        format_storage || {
            log_tail
            die "could not format $DATA_DIR"
        }
    fi
    local -a jvm_opts=(
        -Xms256m "-Xmx$HEAP" -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -XX:-UsePerfData
        -Djava.awt.headless=true "-Djava.io.tmpdir=$STATE_DIR/tmp"
        "-Dlog4j2.configurationFile=$LOG4J_CONFIG"
    )
    rm -f -- "$CDS_DUMP" # left by a broker that did not stop cleanly
    if cds_enabled; then
        local archive
        archive=$(cds_archive)
        if [[ -f "$archive" ]]; then
            jvm_opts+=("-XX:SharedArchiveFile=$archive")
        else
            jvm_opts+=("-XX:ArchiveClassesAtExit=$CDS_DUMP" -Xlog:cds=error)
        fi
    fi
    if [[ -n "${LIENTHONG_LOCAL_KAFKA_JAVA_OPTS:-}" ]]; then
        local -a extra
        read -r -a extra <<<"$LIENTHONG_LOCAL_KAFKA_JAVA_OPTS"
        jvm_opts+=("${extra[@]}")
    fi
    # Its own session (and so process group, whose id is its pid), no terminal, none of our
    # open files (the state lock, a caller's pipes that would never see EOF); setsid execs
    # without forking because a background job of a script is not a process group leader,
    # so $! is the JVM's pid.
    (
        cd -- "$STATE_DIR"
        close_fds_above_2
        exec nohup setsid "$JAVA" "${jvm_opts[@]}" -cp "$CLASSPATH_STR" \
            kafka.Kafka "$PROPS_FILE" </dev/null >>"$LOG_FILE" 2>&1
    ) &
    pid=$!
    printf '%s\n' "$pid" >"$PID_FILE"
    rc=0
    wait_ready "$pid" || rc=$?
    if ((rc != 0)); then
        log_tail
        if ((rc == 1)); then
            rm -f -- "$PID_FILE" "$CDS_DUMP"
            die "the broker (pid $pid) exited during start-up; log: $LOG_FILE"
        fi
        stop_pid "$pid" >/dev/null 2>&1 || true
        rm -f -- "$PID_FILE" "$CDS_DUMP"
        die "the broker did not serve $BOOTSTRAP within ${START_TIMEOUT} s; stopped it; log: $LOG_FILE"
    fi
    print_running "$pid"
    local elapsed=$(($(now_ms) - started))
    note "$(printf 'Kafka %s started in %d.%03d s (pid %s, log %s)' \
        "$VERSION" $((elapsed / 1000)) $((elapsed % 1000)) "$pid" "$LOG_FILE")"
}

# SIGTERM to the broker's process group (a controlled shutdown), SIGKILL after the timeout.
# Sets STOP_KILLED=1 when SIGKILL was needed.
STOP_KILLED=0
stop_pid() {
    local pid=$1 target=$1 pgid stat
    # /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm may contain spaces.
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || true
    read -r _ _ pgid _ <<<"${stat##*) }"
    [[ "$pgid" != "$pid" ]] || target="-$pid"
    kill -TERM -- "$target" 2>/dev/null || true
    local deadline=$(($(now_ms) + STOP_TIMEOUT * 1000))
    while alive "$pid" && (($(now_ms) < deadline)); do
        sleep 0.1
    done
    if alive "$pid"; then
        note "pid $pid still running ${STOP_TIMEOUT} s after SIGTERM: sending SIGKILL"
        STOP_KILLED=1
        kill -KILL -- "$target" 2>/dev/null || true
        deadline=$(($(now_ms) + 10000))
        while alive "$pid" && (($(now_ms) < deadline)); do
            sleep 0.1
        done
        ! alive "$pid" || die "pid $pid survived SIGKILL"
    fi
    # It has exited; give init a moment to reap it so that the pid is gone from ps too.
    deadline=$(($(now_ms) + 5000))
    while [[ -e "/proc/$pid" ]] && (($(now_ms) < deadline)); do
        sleep 0.05
    done
}

cmd_stop() {
    lock_state
    local pid
    if ! pid=$(broker_pid); then
        rm -f -- "$PID_FILE"
        echo "not running"
        return 0
    fi
    local started
    started=$(now_ms)
    stop_pid "$pid"
    rm -f -- "$PID_FILE"
    if ((STOP_KILLED == 0)) && cds_enabled; then
        (find_java && cds_promote) || true
    fi
    rm -f -- "$CDS_DUMP"
    local elapsed=$(($(now_ms) - started))
    echo "stopped (pid $pid)"
    note "$(printf 'stopped in %d.%03d s' $((elapsed / 1000)) $((elapsed % 1000)))"
}

cmd_status() {
    local pid port
    if ! pid=$(broker_pid); then
        echo "not running"
        return 3
    fi
    port=$(running_port)
    port=${port:-$PORT}
    if ! serving "$port"; then
        echo "not ready: pid $pid is alive but does not serve 127.0.0.1:$port yet, or any more (starting or stopping)"
        return 4
    fi
    print_running "$pid" "$port"
}

cmd_run_class() {
    (($# >= 1)) || die "run-class needs a class name (e.g. org.apache.kafka.tools.ProducerPerformance)"
    ensure_fetched
    find_java
    build_classpath
    local class=$1
    shift
    exec "$JAVA" "${TOOL_JVM_OPTS[@]}" -cp "$CLASSPATH_STR" "$class" "$@"
}

cmd_classpath() {
    ensure_fetched
    build_classpath
    printf '%s\n' "$CLASSPATH_STR"
}

main() {
    local cmd=${1:-}
    (($# == 0)) || shift
    case "$cmd" in
    "" | -h | --help | help)
        usage
        ;;
    fetch) cmd_fetch ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart)
        cmd_stop >/dev/null
        exec 9>&-
        cmd_start
        ;;
    status) cmd_status ;;
    run-class) cmd_run_class "$@" ;;
    classpath) cmd_classpath ;;
    client-properties)
        [[ -f "$ADMIN_PROPERTIES" ]] || die "no $ADMIN_PROPERTIES: start the (secured) broker first"
        printf '%s\n' "$ADMIN_PROPERTIES"
        ;;
    *)
        die "unknown command '$cmd' (see: $PROG --help)"
        ;;
    esac
}

main "$@"
