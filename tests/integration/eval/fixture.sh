#!/bin/bash
# Real devices for the eval integration tests: VPCS instances and FRR/Linux namespaces, all named with the
# caller's unique prefix so parallel test runs (and other engineers' lab tests) never collide. Every "up" has a
# "down" that removes exactly what it made (PIDs from files, namespaces and FRR pathspaces by name).
#   fixture.sh vpcs-up DIR CONSOLE_PORT LOCAL_UDP REMOTE_UDP MAC_OFFSET   (pids in DIR/pids)
#   fixture.sh vpcs-down DIR
#   fixture.sh vpcs-cmd CONSOLE_PORT COMMAND
#   fixture.sh ospf-up PREFIX      (env: R1_LAN R2_LAN H1_ADDR H1_GW H2_ADDR H2_GW R1_CONF R2_CONF [FRR_BGP=yes])
#   fixture.sh ospf-down PREFIX
set -eu
cmd=$1; shift

vpcs_up() {
    dir=$1 port=$2 lport=$3 rport=$4 mac=$5
    mkdir -p "$dir"
    # VPCS 0.5b2 daemonizes with -p: find the parent and the forked child by their unique console port.
    (cd "$dir" && vpcs -i 1 -p "$port" -m "$mac" -s "$lport" -c "$rport" -t 127.0.0.1 >"$dir/vpcs.log" 2>&1)
    for _ in $(seq 50); do
        pids=$(pgrep -f -x "vpcs -i 1 -p $port -m $mac -s $lport -c $rport -t 127.0.0.1" || true)
        if [ -n "$pids" ] && (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "$pids" >>"$dir/pids"
    [ -n "$pids" ]
}

vpcs_down() {
    dir=$1
    [ -f "$dir/pids" ] || return 0
    for pid in $(cat "$dir/pids"); do kill "$pid" 2>/dev/null || true; done
    sleep 0.2
    for pid in $(cat "$dir/pids"); do kill -9 "$pid" 2>/dev/null || true; done
    rm -f "$dir/pids"
}

link() {  # prefix ns1 if1 ns2 if2
    p=$1
    ip link add "${p}t1" type veth peer name "${p}t2"
    ip link set "${p}t1" netns "$p$2" name "$3"
    ip link set "${p}t2" netns "$p$4" name "$5"
    ip -n "$p$2" link set "$3" up
    ip -n "$p$4" link set "$5" up
}

frr_start() {  # prefix router conf
    name=$1$2
    mkdir -p "/etc/frr/$name"
    # FRR_BGP=yes also starts bgpd (the intent tests' BGP sessions)
    sed -e 's/^ospfd=no/ospfd=yes/' ${FRR_BGP:+-e 's/^bgpd=no/bgpd=yes/'} /etc/frr/daemons >"/etc/frr/$name/daemons"
    printf 'service integrated-vtysh-config\nhostname %s\n' "$2" >"/etc/frr/$name/vtysh.conf"
    printf '%s\n' "$3" >"/etc/frr/$name/frr.conf"
    chown -R frr:frr "/etc/frr/$name"
    chmod 640 "/etc/frr/$name/frr.conf"
    ip netns exec "$name" /usr/lib/frr/frrinit.sh start "$name" >/dev/null 2>&1
}

ospf_up() {
    p=$1
    for n in r1 r2 h1 h2; do
        ip netns add "$p$n"
        ip -n "$p$n" link set lo up
    done
    link "$p" r1 eth1 r2 eth1
    link "$p" r1 eth2 h1 eth1
    link "$p" r2 eth2 h2 eth1
    ip -n "${p}r1" addr add 10.255.12.1/30 dev eth1
    ip -n "${p}r2" addr add 10.255.12.2/30 dev eth1
    ip -n "${p}r1" addr add "$R1_LAN" dev eth2
    ip -n "${p}r2" addr add "$R2_LAN" dev eth2
    [ -z "$H1_ADDR" ] || ip -n "${p}h1" addr add "$H1_ADDR" dev eth1
    [ -z "$H2_ADDR" ] || ip -n "${p}h2" addr add "$H2_ADDR" dev eth1
    [ -z "$H1_GW" ] || ip -n "${p}h1" route add default via "$H1_GW"
    [ -z "$H2_GW" ] || ip -n "${p}h2" route add default via "$H2_GW"
    for r in r1 r2; do ip netns exec "$p$r" sysctl -qw net.ipv4.ip_forward=1; done
    frr_start "$p" r1 "$R1_CONF"
    frr_start "$p" r2 "$R2_CONF"
}

ospf_down() {
    p=$1
    for r in r1 r2; do
        name=$p$r
        if [ -d "/var/run/frr/$name" ]; then
            ip netns exec "$name" /usr/lib/frr/frrinit.sh stop "$name" >/dev/null 2>&1 || true
            for f in /var/run/frr/"$name"/*.pid; do
                [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true
            done
        fi
        rm -rf "/etc/frr/$name" "/var/run/frr/$name"
    done
    for n in r1 r2 h1 h2; do ip netns del "$p$n" 2>/dev/null || true; done
}

vpcs_cmd() {  # port command: send one command, wait for its answer line ("PC1 : ..."), hang up
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    # VPCS handles only the first line of what arrives at once, and drops input sent during its banner.
    sleep 1
    printf '%s\n' "$2" >&3
    timeout 8 grep -a -m1 -E '^[A-Z0-9]+ : |not reachable|Bad command' <&3 >/dev/null || true
    exec 3>&-
}

case $cmd in
    vpcs-cmd) vpcs_cmd "$@" ;;
    vpcs-up) vpcs_up "$@" ;;
    vpcs-down) vpcs_down "$@" ;;
    ospf-up) ospf_up "$@" ;;
    ospf-down) ospf_down "$@" ;;
    *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
