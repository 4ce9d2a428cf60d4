/// The name (without `.html`/`.txt`) of a session's pages in its job's directory.
///
/// The seed named them by the session's short name, so a step called `runner` and the runner
/// wrote the same files, and a step called `index` wrote over the job's own `index.html`. Here
/// only the runner itself (exactly `ci.<repo>.<job_id>.runner`) is `runner`; a step whose short
/// name is `runner` or `index`, or starts with `_`, gets a `_` in front. The map is one to one
/// (a name with a `_` added was either reserved or began with `_` already), so no two sessions
/// of a job share a file and no step's file is the job's.
public enum SessionFileName {
    public static func of(_ session: SessionRecord, in job: JobRecord) -> String {
        let short = session.short ?? JobName.cleanShort(session.name, repo: job.name, jobID: job.jobID)
        if session.name == JobName.runnerName(repo: job.name, jobID: job.jobID) { return "runner" }
        if short == "runner" || short == "index" || short.hasPrefix("_") { return "_" + short }
        return short
    }
}
