// pici-run: an event → a CI job running as zmx sessions (the seed's runner, cancel and gc).
import Glibc
import PiciKit

let help = """
usage: pici-run [--wait | --cancel | --gc | --dispatch] [--event JSON | --rerun NAME/JOB_ID] [--cancel-scope SCOPE] [--job-timeout DUR] [--retain N] [--retain-age DUR] [--hosts FILE] [--host NAME] [--artifact-dir DIR] [-pk KEY] [-ck CERT] [--gc-age DUR] [--interval DUR] [--timeout DUR] [--sync-timeout DUR] [--zmx CMD] [--log-level LEVEL] [--mask-file FILE] [--env-file FILE] [--secret-env-file FILE] [--pass-env NAME]

Reads an event ({"type":…,"name":…,"workspace":…}) from stdin or --event, cancels the
running job of its repository and branch, syncs the workspace, and starts its pico.sh in the zmx session
ci.<name>.<job_id>.runner, with each step it starts named ci.<name>.<job_id>.step.<step>.

  --wait               wait for the job, show its sessions, exit with its status
  --cancel [NAME]      only cancel the running job of repository NAME (or the event's)
  --gc                 only kill ci.* sessions older than --gc-age and remove the
                       workspace copies of jobs that are over (reads no event)
  --dispatch           only start queued events on hosts with a free slot (a monitor
                       pass runs this; reads no event)
  --hosts FILE         the build hosts (default: $PICI_HOSTS); a job goes to the event's
                       "host", else --host, else the host with the fewest running ci.
                       sessions; when every host is full the event is queued
  --host NAME          the host for an event that names none
  --event JSON         the event (default: read from stdin)
  --rerun NAME/JOB_ID  run again the event of that earlier job (its event.json)
  --job-timeout DUR    kill the job after DUR when its event has no "timeout"
  --retain N           with --gc: keep only the newest N published jobs per repository
  --retain-age DUR     with --gc: remove published jobs that ended more than DUR ago
  --cancel-scope SCOPE branch (default): cancel the running job of the event's repository
                       and branch (an event without a branch: of every branch); repo: of
                       its repository, whatever the branch
  --artifact-dir DIR   where artifacts and state go (default $PICI_ARTIFACT_DIR, else
                       /tmp/pici-artifacts)
  -pk KEY, -ck CERT    ssh key and certificate for a remote workspace
  --gc-age DUR         --gc's age (default 3h)
  --interval DUR       --wait's poll interval (default 1s)
  --timeout DUR        kill a zmx call after DUR (default 30s)
  --sync-timeout DUR   kill the workspace rsync after DUR (default 10m)
  --zmx CMD            the zmx command line (default: $PICI_ZMX, else zmx)
  --log-level LEVEL    diagnostics as the seed's log lines: debug, info, warn, error
  --mask-file FILE     secrets to mask as *** in what it prints (default: $PICI_MASK_FILE)
  --env-file FILE      NAME=VALUE lines added to the job's environment (repeatable)
  --secret-env-file FILE
                       the same, and every value is masked as *** wherever pici shows it
  --pass-env NAME      let the caller's NAME through to the job (repeatable); otherwise
                       the job gets only PATH, HOME, USER, LANG, TERM, zmx's variables
                       and PICO_CI_*
  --help, --version

Exit status: 0 ok (with --wait: the job succeeded); 1-255 the failed job's code (--wait);
64 usage (or a secret under 4 bytes); 65 bad event or workspace tar; 66 no pico.sh or
no mask file; 69 zmx or rsync failed;
73 cannot write artifacts; 130 interrupted.

"""

Tool.main("pici-run", help: help, options: [
    .init("event", value: true), .init("wait"), .init("cancel"), .init("gc"), .init("gc-age", value: true),
    .init("artifact-dir", value: true), .init("pk", value: true), .init("ck", value: true),
    .init("zmx", value: true), .init("timeout", value: true), .init("sync-timeout", value: true),
    .init("interval", value: true), .init("log-level", value: true), .init("cancel-scope", value: true),
    .init("hosts", value: true), .init("host", value: true), .init("dispatch"),
    .init("env-file", value: true), .init("secret-env-file", value: true), .init("pass-env", value: true),
    .init("job-timeout", value: true), .init("rerun", value: true), .init("retain", value: true), .init("retain-age", value: true),
], masks: true) { args in
    let code = try RunCommand(args).run()
    if let status = ExitStatus(rawValue: code) { return status }
    // A job's own code (3, say) has no name among ours.
    try Output.standard.flush()
    exit(code)
}
