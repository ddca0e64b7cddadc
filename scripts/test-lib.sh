# Sourced by ./test (and by the test of this file, TestScriptTests): runs `dotnet test` so that a crashed test host can
# never look like a clean run.
#   run_tests LABEL PROJECT [dotnet test options...]  runs one test run and adds its counts to the totals
#   print_summary                                      prints "tests: N passed, N failed, N skipped" (and what did not
#                                                      run); returns non-zero if anything failed, crashed or did not run
# A test host that dies (a native crash such as oneDNN's SIGFPE) prints no summary, or one that counts only what ran.
# Each test run therefore keeps a journal (EVENCONV_TEST_JOURNAL: the test assembly's TestJournal attribute writes
# "start NAME" / "end NAME" around every test): a test started and never ended is the one that was running, and the
# tests listed by discovery (--list-tests) but never started are counted as not run.
passed=0 failed=0 skipped=0 notrun=0 ok=1

run_tests() {
    local label=$1 project=$2 log journal summary status p f s running listed started
    shift 2
    log=$(mktemp) journal=$(mktemp)
    echo "== $label"
    EVENCONV_TEST_JOURNAL="$journal" dotnet test "$project" -c Release -nologo "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    summary=$(grep -E '^ *(Passed|Failed|Skipped)!' "$log" | tail -n 1)
    p=$(sed -nE 's/.*Passed: *([0-9]+).*/\1/p' <<<"$summary"); f=$(sed -nE 's/.*Failed: *([0-9]+).*/\1/p' <<<"$summary")
    s=$(sed -nE 's/.*Skipped: *([0-9]+).*/\1/p' <<<"$summary")
    passed=$((passed + ${p:-0})) failed=$((failed + ${f:-0})) skipped=$((skipped + ${s:-0}))
    running=$(awk '$1 == "start" { n[$2]++ } $1 == "end" { n[$2]-- } END { for (t in n) if (n[t] > 0) print t }' "$journal")
    if [[ -n "$running" ]] || grep -qE 'Test Run Aborted|Test host process crashed' "$log"; then
        started=$(grep -c '^start ' "$journal")
        # Discovery lists each test case once (each theory row where xunit can enumerate it).
        listed=$(dotnet test "$project" -c Release -nologo --no-build --list-tests 2>/dev/null \
            | sed -n '/The following Tests are available:/,$p' | tail -n +2 | grep -c .)
        local missing=$((listed > started ? listed - started : 0))
        echo "tests: the test host crashed while running: ${running:-(no test was running: it died between tests)}" >&2
        echo "tests: $started of $listed listed tests started before the crash; $missing did not run" >&2
        failed=$((failed + 1)) notrun=$((notrun + missing)) ok=0
    elif [[ $status -ne 0 || -z "$summary" ]]; then
        ok=0
        [[ -n "$summary" ]] || { echo "tests: dotnet test printed no summary (exit code $status)" >&2; failed=$((failed + 1)); }
    fi
    rm -f "$log" "$journal"
}

print_summary() {
    if [[ $notrun -gt 0 ]]; then
        echo "tests: $passed passed, $failed failed, $skipped skipped, $notrun did not run"
    else
        echo "tests: $passed passed, $failed failed, $skipped skipped"
    fi
    [[ $ok -eq 1 ]]
}
