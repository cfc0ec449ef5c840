# Shared by scripts/bench-api*.sh (sourced): free ports, and the admin's token from a fresh `netpraxis serve`.

free_port() {  # a loopback port nobody listens on
    local p
    while :; do p=$(shuf -i 20000-39999 -n 1); ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }; done
}

admin_token() {  # PORT LOG: waits for the server whose console goes to LOG, logs in as the first teacher
    local port=$1 log=$2 password
    for _ in $(seq 300); do grep -q "listening on" "$log" 2>/dev/null && break; sleep 0.1; done
    password=$(sed -n 's/.*one-time password: \([^ ]*\).*/\1/p' "$log")
    curl -fsS -X POST -H 'Content-Type: application/json' \
        -d "{\"username\":\"admin\",\"password\":\"$password\"}" "http://127.0.0.1:$port/api/v1/auth/login" |
        sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
