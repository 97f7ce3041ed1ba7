#!/usr/bin/env bash
# Broker throughput with `actormq bench`, in two processes: the receiver first, then the sender.
# The servers must be running (nats-server with -js): NATS=PORT REDIS=PORT AMQP=PORT cli/bench-brokers.sh
# (cargo build --release -p actormq-cli first). SIZE and COUNT default to 100 and 100000.
set -u
A=$(dirname "$0")/../target/release/actormq
SIZE=${SIZE:-100}; COUNT=${COUNT:-100000}
run() { # name endpoint pattern
  local name=$1 ep=$2 pattern=$3
  timeout 120 $A bench throughput --connect "$ep" --role receiver --pattern $pattern --size $SIZE --count $COUNT > /tmp/bb-recv.txt 2>/tmp/bb-recv.err &
  local r=$!
  sleep 1.5
  timeout 120 $A bench throughput --connect "$ep" --role sender --pattern $pattern --size $SIZE --count $COUNT > /tmp/bb-send.txt 2>&1
  wait $r; local rc=$?
  echo "== $name ($pattern, $SIZE B x $COUNT) rc=$rc"; grep -E "throughput:" /tmp/bb-recv.txt; tail -3 /tmp/bb-recv.err | grep -v "^$" | head -2
}
run "nats queue group" "nats://127.0.0.1:$NATS/bench.q" push
run "nats jetstream" "nats://127.0.0.1:$NATS/bench.js.$$?stream=BENCH$$" push
run "nats subjects" "nats://127.0.0.1:$NATS" pub
run "redis pub/sub" "redis://127.0.0.1:$REDIS" pub
run "redis stream" "redis://127.0.0.1:$REDIS/bench.stream.$$" push
run "rabbitmq queue" "amqp://guest:guest@127.0.0.1:$AMQP?queue=bench.$$" push
run "rabbitmq topic exchange" "amqp://guest:guest@127.0.0.1:$AMQP" pub
