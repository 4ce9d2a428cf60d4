// pici-status: status lines → the same lines; each job's state posted to the forge as a
// commit status, retried from an outbox until the forge takes it.
import PiciKit

let help = """
usage: pici-status --forge gitea|github --api URL --token-file FILE [--owner OWNER] [--url-base URL] [--artifact-dir DIR] [--context NAME] [--timeout DUR]

Reads the status lines of pici-publish (or pici-monitor) on stdin and passes every line on
unchanged. For each job whose artifacts/event.json names a commit it posts a commit status
to POST {api}/repos/{owner}/{repo}/statuses/{sha}: pending while the job runs, then success,
failure (failed) or error (cancelled, lost, timeout). A request that fails is retried with
backoff from DIR/.pici/forge, also by the next run; an older status never replaces a newer
one for the same commit.

  --forge gitea|github  the forge's API flavour (Gitea and Forgejo are gitea)
  --api URL             the API root, e.g. https://codeberg.org/api/v1, https://api.github.com
  --token-file FILE     a file holding the API token (never given on a command line)
  --owner OWNER         the repository owner when the event has no "repo" (owner/name)
  --url-base URL        where DIR is served: each status links URL/<name>/<job_id>/index.html
  --artifact-dir DIR    where the jobs' event.json and the outbox live (default /tmp/pici-artifacts)
  --context NAME        the status's context (default pici)
  --timeout DUR         give up one request after DUR (default 10s)
  --help, --version

Exit status: 0 ok; 64 usage; 65 a malformed line (reported, passed on); 66 no token file;
69 a status is not delivered yet (kept for the next run) or was refused by the forge;
73 cannot write the outbox.

"""

Tool.main("pici-status", help: help, options: [
    .init("forge", value: true), .init("api", value: true), .init("token-file", value: true),
    .init("owner", value: true), .init("url-base", value: true), .init("artifact-dir", value: true),
    .init("context", value: true), .init("timeout", value: true),
]) { args in
    let options: StatusFilter.Options
    do { options = try StatusOptions.parse(args) } catch let e as ForgeClient.Refused {
        // The token file is missing, unreadable or not a token.
        Diagnostics.error("\(e)")
        return .noInput
    }
    return try StatusFilter(options: options).run()
}
