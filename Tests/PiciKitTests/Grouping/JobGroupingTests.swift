import PiciKit
import XCTest

/// Sessions to jobs: the seed's resolveJobExitCode and computeJobTiming, and the order jobs
/// and sessions come out in.
final class JobGroupingTests: XCTestCase {
    /// A session as pici-list makes it from its name and times.
    private func s(_ name: String, created: Int = 1_000, ended: Int? = nil, exit: Int? = nil) -> SessionRecord {
        let job = JobName.parse(name)
        let status: SessionStatus = ended == nil ? .running : (exit == 0 ? .success : .failed)
        return SessionRecord(name: name, repo: job?.repo, jobID: job?.jobID, short: job?.short, pid: 1, clients: 0,
                             created: created, ended: ended, exitCode: exit, status: status)
    }

    private let runner = "ci.r.a3f2b8c1.runner"
    private func step(_ n: String) -> String { "ci.r.a3f2b8c1.step.\(n)" }

    private func resolve(_ sessions: [SessionRecord]) -> [String] {
        let r = JobGrouping.resolveExitCode(sessions)
        return ["\(r.code)", r.status.rawValue]
    }

    // MARK: resolveJobExitCode

    func testAllSuccess() {
        XCTAssertEqual(resolve([s(runner, ended: 9, exit: 0), s(step("a"), ended: 9, exit: 0), s(step("b"), ended: 9, exit: 0)]),
                       ["0", "success"])
    }

    func testFailedRunnerOnly() {
        XCTAssertEqual(resolve([s(runner, ended: 9, exit: 2), s(step("a"), ended: 9, exit: 0)]), ["2", "failed"])
        XCTAssertEqual(resolve([s(runner, ended: 9, exit: 3)]), ["3", "failed"])
    }

    func testFailedChildBeatsRunner() {
        XCTAssertEqual(resolve([s(runner, ended: 9, exit: 1), s(step("a"), ended: 9, exit: 4)]), ["4", "failed"])
        XCTAssertEqual(resolve([s(runner, ended: 9, exit: 100), s(step("a"), ended: 9, exit: 4)]), ["4", "failed"],
                       "any child failure wins, even with a lower code than the runner's")
    }

    func testHighestChildCodeWins() {
        XCTAssertEqual(resolve([s(step("a"), ended: 9, exit: 3), s(step("b"), ended: 9, exit: 7), s(step("c"), ended: 9, exit: 5),
                                s(runner, ended: 9, exit: 1)]), ["7", "failed"])
    }

    func testRunnerExitZeroButChildFailed() {
        XCTAssertEqual(resolve([s(runner, ended: 9, exit: 0), s(step("a"), ended: 9, exit: 0), s(step("b"), ended: 9, exit: 1)]),
                       ["1", "failed"])
    }

    func testNoExitCodes() {
        XCTAssertEqual(resolve([s(runner), s(step("a"))]), ["0", "success"])
        XCTAssertEqual(resolve([]), ["0", "success"])
    }

    /// Only `ci.<repo>.<job_id>.runner` is the runner (issue 16 case 2): a step whose name
    /// ends in `.runner` is a step, and its exit 0 cannot hide a failed pico.sh.
    func testOnlyTheExactRunnerNameIsTheRunner() {
        let nested = s("ci.r.a3f2b8c1.step.ci.r.a3f2b8c1.runner", ended: 9, exit: 6)
        XCTAssertFalse(nested.isRunner)
        XCTAssertEqual(nested.short, "runner")
        XCTAssertEqual(resolve([nested, s(step("a"), ended: 9, exit: 2)]), ["6", "failed"])
        XCTAssertTrue(s(runner, ended: 9, exit: 1).isRunner)
        let posing = s(step("unit.runner"), ended: 9, exit: 0)
        XCTAssertFalse(posing.isRunner)
        XCTAssertEqual(resolve([s(runner, ended: 9, exit: 1), posing]), ["1", "failed"])
        XCTAssertEqual(resolve([posing, s(runner, ended: 9, exit: 1)]), ["1", "failed"])
    }

    // MARK: jobs

    func testFinishedFailedJob() throws {
        let jobs = JobGrouping.jobs(from: [
            s(step("test"), created: 1_795_823_658, ended: 1_795_823_700, exit: 4),
            s(runner, created: 1_795_823_657, ended: 1_795_823_811, exit: 4),
            s(step("lint"), created: 1_795_823_658, ended: 1_795_823_660, exit: 0),
        ], now: 2_000_000_000)
        let job = try XCTUnwrap(jobs.first)
        XCTAssertEqual(jobs.count, 1)
        XCTAssertEqual(job.name, "r")
        XCTAssertEqual(job.jobID, "a3f2b8c1")
        XCTAssertEqual(job.status, .failed)
        XCTAssertEqual(job.exitCode, 4)
        XCTAssertEqual(job.startedAt, "2026-11-27T23:54:17Z")
        XCTAssertEqual(job.endedAt, "2026-11-27T23:56:51Z")
        XCTAssertEqual(job.duration, "2m34s")
        XCTAssertEqual(job.sessionCount, 3)
        XCTAssertEqual(job.sessions.map(\.short), ["runner", "lint", "test"], "sessions in name order")
    }

    func testRunningJob() throws {
        let job = try XCTUnwrap(JobGrouping.jobs(from: [
            s(runner, created: 1_000),
            s(step("lint"), created: 1_001, ended: 1_003, exit: 9),
        ], now: 1_012).first)
        XCTAssertEqual(job.status, .running, "a failed step does not end a running job")
        XCTAssertNil(job.exitCode)
        XCTAssertEqual(job.startedAt, TimeFormat.rfc3339(1_000))
        XCTAssertNil(job.endedAt, "a job with a running session has not ended")
        XCTAssertEqual(job.duration, "12s", "up to now, not frozen at the step's end as in the seed")
        let alone = try XCTUnwrap(JobGrouping.jobs(from: [s(runner, created: 1_000)], now: 1_154).first)
        XCTAssertEqual(alone.status, .running)
        XCTAssertNil(alone.endedAt)
        XCTAssertEqual(alone.duration, "2m34s", "up to now while nothing has ended")
        XCTAssertEqual(JobGrouping.jobs(from: [s(runner, created: 1_000)], now: 1_012).first?.duration, "12s")
    }

    func testJobWithOnlySteps() throws {
        let job = try XCTUnwrap(JobGrouping.jobs(from: [
            s(step("a"), created: 10, ended: 15, exit: 0), s(step("b"), created: 11, ended: 12, exit: 0),
        ], now: 99).first)
        XCTAssertEqual(job.status, .success)
        XCTAssertEqual(job.exitCode, 0)
        XCTAssertEqual(job.duration, "5.0s")
        XCTAssertEqual(job.sessions.map(\.short), ["a", "b"])
        let failed = try XCTUnwrap(JobGrouping.jobs(from: [s(step("a"), created: 10, ended: 15, exit: 3)], now: 99).first)
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.exitCode, 3)
    }

    func testTimingWithMissingTimestamps() throws {
        // An unreachable session: zmx gave no created (0) and no end.
        var lost = s(runner, created: 0)
        lost.status = .unreachable
        lost.pid = nil
        let job = try XCTUnwrap(JobGrouping.jobs(from: [lost], now: 5_000).first)
        XCTAssertNil(job.startedAt)
        XCTAssertNil(job.endedAt)
        XCTAssertEqual(job.duration, "")
        XCTAssertEqual(job.status, .running)
        XCTAssertNil(job.exitCode)

        // Created 0 does not drag started_at to 1970; the unreachable session keeps the job open.
        let mixed = JobGrouping.timing(of: [lost, s(step("a"), created: 100, ended: 130, exit: 0)], now: 5_000)
        XCTAssertEqual(mixed.startedAt, TimeFormat.rfc3339(100))
        XCTAssertNil(mixed.endedAt)
        XCTAssertEqual(mixed.duration, "81m40s")
        let ended = JobGrouping.timing(of: [s(runner, created: 0, ended: 130, exit: 0), s(step("a"), created: 100, ended: 120, exit: 0)], now: 5_000)
        XCTAssertEqual(ended.startedAt, TimeFormat.rfc3339(100))
        XCTAssertEqual(ended.endedAt, TimeFormat.rfc3339(130))
        XCTAssertEqual(ended.duration, "30s")

        // An end with no known start: the end is known, the span is not.
        let endOnly = JobGrouping.timing(of: [s(runner, created: 0, ended: 130, exit: 0)], now: 5_000)
        XCTAssertNil(endOnly.startedAt)
        XCTAssertEqual(endOnly.endedAt, TimeFormat.rfc3339(130))
        XCTAssertEqual(endOnly.duration, "")
        XCTAssertEqual(JobGrouping.timing(of: [], now: 5).duration, "")
    }

    func testJobsOrderedByStartThenNameThenJobID() {
        let sessions = [
            s("ci.b.00000002.runner", created: 200),
            s("ci.a.00000009.runner", created: 300),
            s("ci.b.00000001.runner", created: 200),
            s("ci.a.00000003.runner", created: 200),
            s("ci.c.00000004.runner", created: 100),
            s("ci.B.00000005.runner", created: 200),
        ]
        let order = JobGrouping.jobs(from: sessions, now: 1_000).map { "\($0.name)/\($0.jobID)" }
        XCTAssertEqual(order, ["c/00000004", "B/00000005", "a/00000003", "b/00000001", "b/00000002", "a/00000009"])
        XCTAssertEqual(JobGrouping.jobs(from: sessions.reversed(), now: 1_000).map { "\($0.name)/\($0.jobID)" }, order,
                       "input order does not matter")
    }

    func testOrderAcrossYearsFollowsTimeNotText() {
        // RFC 3339 in UTC with four-digit years sorts as text in time order.
        let order = JobGrouping.jobs(from: [
            s("ci.a.00000001.runner", created: 1_000_000_000), s("ci.a.00000002.runner", created: 999_999_999),
            s("ci.a.00000003.runner", created: 2_000_000_000),
        ], now: 0).map(\.jobID)
        XCTAssertEqual(order, ["00000002", "00000001", "00000003"])
    }

    func testSessionsInNameOrderWithinAJob() {
        let job = JobGrouping.jobs(from: [s(step("z")), s(runner), s(step("B")), s(step("a")), s(step("a.b"))], now: 2_000).first
        XCTAssertEqual(job?.sessions.map(\.name), [runner, step("B"), step("a"), step("a.b"), step("z")])
    }

    func testNonJobSessionsAreDropped() {
        let jobs = JobGrouping.jobs(from: [
            s("my-shell"), s("ci.notajob"), s("ci.r.nothex00.runner"), s(runner), s("ci.other.a3f2b8c1.runner"),
        ], now: 2_000)
        XCTAssertEqual(jobs.map(\.name), ["other", "r"])
        XCTAssertEqual(jobs.map(\.sessionCount), [1, 1])
    }

    func testSameJobIDInTwoReposIsTwoJobs() {
        let jobs = JobGrouping.jobs(from: [s("ci.a.a3f2b8c1.runner"), s("ci.a.b.a3f2b8c1.runner"), s("ci.a.a3f2b8c1.step.x")], now: 2_000)
        XCTAssertEqual(jobs.map(\.name), ["a", "a.b"])
        XCTAssertEqual(jobs.map(\.sessionCount), [2, 1])
    }

    func testSessionsWithoutRepoFieldsAreParsedFromTheirNames() throws {
        // A session record from another producer may leave repo/job_id/short null.
        let bare = SessionRecord(name: "ci.socket.io.a3f2b8c1.step.ci.socket.io.a3f2b8c1.runner", created: 5, ended: 6, exitCode: 0, status: .success)
        let job = try XCTUnwrap(JobGrouping.jobs(from: [bare], now: 10).first)
        XCTAssertEqual(job.name, "socket.io")
        XCTAssertEqual(job.jobID, "a3f2b8c1")
        XCTAssertEqual(job.sessions.first?.repo, "socket.io")
        XCTAssertEqual(job.sessions.first?.short, "runner")
    }

    // MARK: time formats

    func testRFC3339() {
        XCTAssertEqual(TimeFormat.rfc3339(0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(TimeFormat.rfc3339(1_795_823_657), "2026-11-27T23:54:17Z")
        XCTAssertEqual(TimeFormat.rfc3339(951_782_400), "2000-02-29T00:00:00Z")
        XCTAssertEqual(TimeFormat.parseRFC3339("2026-11-27T23:54:17Z"), 1_795_823_657)
        XCTAssertNil(TimeFormat.parseRFC3339("2026-11-27 23:54:17"))
    }

    func testDurationAsTheSeedWritesIt() {
        XCTAssertEqual(TimeFormat.duration(seconds: 0), "0.0s")
        XCTAssertEqual(TimeFormat.duration(seconds: 9), "9.0s")
        XCTAssertEqual(TimeFormat.duration(seconds: 10), "10s")
        XCTAssertEqual(TimeFormat.duration(seconds: 59), "59s")
        XCTAssertEqual(TimeFormat.duration(seconds: 60), "1m0s")
        XCTAssertEqual(TimeFormat.duration(seconds: 154), "2m34s")
        XCTAssertEqual(TimeFormat.duration(seconds: 7_322), "122m2s", "Go's minutes do not roll over into hours")
        XCTAssertEqual(TimeFormat.duration(seconds: -1), "—")
        XCTAssertEqual(TimeFormat.duration(from: nil, to: 5), "—")
        XCTAssertEqual(TimeFormat.duration(from: 5, to: 3), "—")
    }
}
