#!/bin/sh
# tools/rename-prefixes.sh — one prefix per module (issue 13): `rec_` stays recovery.c's
# alone; the pure decision modules and the executor get their own.
#
#   analysis   rec_analysis*, rec_analyze, REC_A_*   -> ana_*, ANA_*
#   candidate  rec_candidate*, rec_ranking*, REC_EXCL_* -> cand_*, CAND_EXCL_*
#   plan       rec_plan*, rec_step*, rec_server, REC_STEP_* -> plan_*, PLAN_STEP_*
#   executor   rec_exec*, REC_EXEC_*                  -> exec_*, EXEC_*
#
# Not applied on the branch that wrote it (recovery.c, being rewritten in parallel, uses
# about sixty of these names): run it once after the merges, from the repository's top.
# Idempotent (a second run changes nothing); whole words only, longest names first.
# Rewrites C sources and headers under orchestrator/ topology/ hooks/ tests/ bench/, and
# the Markdown that names them.
set -eu
cd "$(dirname "$0")/.."

files=$(git ls-files -- 'orchestrator/*.[ch]' 'topology/*.[ch]' 'hooks/*.[ch]' 'tests/*.[ch]' \
        'bench/*.[ch]' '*.md' 2>/dev/null || true)
[ -n "$files" ] || { echo "rename-prefixes: no files (run inside the git checkout)" >&2; exit 1; }

# old new, longest first where one name is the prefix of another.
map='
rec_analysis_is_failover ana_is_failover
rec_analysis_input ana_input
rec_analysis_code ana_code
rec_analysis_name ana_code_name
rec_analysis ana_result
rec_analyze ana_analyze
rec_is_direct_replica ana_is_direct_replica
rec_replica_quiet_ms ana_replica_quiet_ms
rec_candidate_opts cand_opts
rec_candidate cand_entry
rec_exclusion_name cand_exclusion_name
rec_exclusion cand_exclusion
rec_rank_candidates cand_rank
rec_ranking_free cand_ranking_free
rec_ranking cand_ranking
rec_step_describe plan_step_describe
rec_step_kind plan_step_kind
rec_step_name plan_step_name
rec_step plan_step
rec_plan_opts plan_options
rec_plan_add_hook plan_add_hook
rec_plan_copy plan_copy
rec_plan_failover plan_failover
rec_plan_free plan_free
rec_plan_intermediate plan_intermediate
rec_plan_print plan_print
rec_plan_relocate plan_relocate
rec_plan_single plan_single
rec_plan_switchover plan_switchover
rec_plan_to_json plan_to_json
rec_plan plan_spec
rec_server plan_server
rec_exec_creds exec_creds
rec_exec_fd exec_fd
rec_exec_free exec_free
rec_exec_hooks exec_hooks
rec_exec_msg_clear exec_msg_clear
rec_exec_msg_kind exec_msg_kind
rec_exec_msg exec_msg
rec_exec_read exec_read
rec_exec_run_sync exec_run_sync
rec_exec_start exec_start
rec_exec exec_job
'
script=$(mktemp)
trap 'rm -f "$script"' EXIT
printf '%s\n' "$map" | while read -r old new; do
    if [ -n "$old" ]; then printf 's/\\b%s\\b/%s/g\n' "$old" "$new"; fi
done >"$script"
cat >>"$script" <<'SED'
s/\bREC_A_([A-Z0-9_]+)\b/ANA_\1/g
s/\bREC_EXCL_([A-Z0-9_]+)\b/CAND_EXCL_\1/g
s/\bREC_STEP_([A-Z0-9_]+)\b/PLAN_STEP_\1/g
s/\bREC_EXEC_([A-Z0-9_]+)\b/EXEC_\1/g
SED
# The renamed names must be free (a clash would merge two symbols).
for new in $(printf '%s\n' "$map" | awk 'NF==2{print $2}'); do
    if grep -lw -- "$new" $files >/dev/null 2>&1; then
        old=$(printf '%s\n' "$map" | awk -v n="$new" '$2==n{print $1}')
        if grep -lw -- "$old" $files >/dev/null 2>&1; then
            echo "rename-prefixes: $new is already a name in: $(grep -lw -- "$new" $files | tr '\n' ' ')" >&2
            exit 1
        fi
    fi
done
changed=0
for f in $files; do
    sed -E -f "$script" "$f" >"$f.rename.tmp"
    if cmp -s "$f" "$f.rename.tmp"; then
        rm -f "$f.rename.tmp"
    else
        cat "$f.rename.tmp" >"$f" && rm -f "$f.rename.tmp"   # keeps the file's mode
        changed=$((changed + 1))
    fi
done
echo "rename-prefixes: $changed files rewritten"
