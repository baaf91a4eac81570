#!/usr/bin/env bash
# A small coordination tool of the kind people write by hand, lossy in the ways such tools
# are, so that swarmspec's command adapter and history checker can be seen catching it:
#
# - `claim` creates a new work item with an id of its own (work_<nanoseconds>) and gives it
#   to the calling agent; there is no submit.
# - The agent's id comes from the environment ($LOSSY_TOOL_AGENT), not the command line.
# - Every answer is a line on stdout (SUCCESS ... / CONFLICT ...) and the exit code is
#   always 0.
# - A claim takes a lock directory and refuses ("CONFLICT lock busy") when another claim
#   has it; a claim killed while holding it leaves it behind for good.
# - progress and complete take no lock: they read the whole file, wait a little
#   ($LOSSY_TOOL_DELAY seconds, a busy disk), and write it back through ONE temp file that
#   every writer shares, then mv it into place. Concurrent writers lose each other's updates,
#   and can leave a file that is half one write and half another.
#
# Usage: lossy_tool.sh init | claim | progress ITEM PERCENT | complete ITEM | state
# State: $LOSSY_TOOL_STATE, a work_claims.json array with one entry per line.
set -u
STATE="${LOSSY_TOOL_STATE:?set LOSSY_TOOL_STATE to the state file}"
AGENT="${LOSSY_TOOL_AGENT:-}"
DELAY="${LOSSY_TOOL_DELAY:-0.02}"

entry() {
  printf '{"work_item_id":"%s","agent_id":"%s","status":"%s","progress":%s}\n' "$1" "$2" "$3" "$4"
}

# The entries, one per line, without the array's brackets and commas.
entries() {
  grep '^{' "$STATE" 2>/dev/null | sed 's/,$//'
}

# Entries on stdin become the state, through the shared temp file.
write_state() {
  { echo "["; sed '$!s/$/,/'; echo "]"; } > "$STATE.tmp" && mv "$STATE.tmp" "$STATE"
}

case "${1:-}" in
  init)
    echo "[]" > "$STATE"
    echo "SUCCESS initialised $STATE"
    ;;
  claim)
    if ! mkdir "$STATE.lock" 2>/dev/null; then
      echo "CONFLICT lock busy"
      exit 0
    fi
    id="work_$(date +%s%N)"
    { entries; entry "$id" "$AGENT" in_progress 0; } | write_state
    rmdir "$STATE.lock"
    echo "SUCCESS claimed $id for $AGENT"
    ;;
  progress|complete)
    id="${2:-}"
    current="$(entries)"
    line="$(printf '%s\n' "$current" | grep -F "\"work_item_id\":\"$id\"")"
    if [ -z "$line" ] || ! printf '%s' "$line" | grep -qF "\"agent_id\":\"$AGENT\""; then
      echo "CONFLICT $id is not held by $AGENT"
      exit 0
    fi
    sleep "$DELAY"
    if [ "$1" = progress ]; then
      new="$(entry "$id" "$AGENT" in_progress "${3:-0}")"
    else
      new="$(entry "$id" "$AGENT" completed 100)"
    fi
    { printf '%s\n' "$current" | grep -vF "\"work_item_id\":\"$id\""; echo "$new"; } | grep '^{' | write_state
    echo "SUCCESS $1 $id"
    ;;
  state)
    cat "$STATE"
    ;;
  *)
    echo "CONFLICT unknown command ${1:-}"
    ;;
esac
exit 0
