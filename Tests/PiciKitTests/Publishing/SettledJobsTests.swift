import Foundation
import XCTest
@testable import PiciKit

/// A published job at rest (`SettledJobs`, `.pici/settled`): looked at again only when its
/// directories change, and then as before — pages made again, leftovers removed, re-runs shown.
final class SettledJobsTests: XCTestCase {
    let job = PublishTests.finishedJob()

    /// Published, then looked at once more with its directories a minute old: recorded at rest.
    func settledWorld() throws -> (dir: String, env: [String: String], input: String) {
        let base = Support.tempDir(self, "settled")
        let env = Support.environment(zmxDir: base + "/zmx", extra: ["PICI_NOW": String(PublishTests.now)])
        let dir = base + "/D"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let input = PublishTests.stream([job])
        let first = Support.sh("pici-publish --no-sync --artifact-dir '\(dir)'", env: env, input: input)
        XCTAssertEqual(first.status, 0, first.stderr)
        age(dir)
        let look = Support.sh("pici-publish --no-sync --artifact-dir '\(dir)'", env: env, input: input)
        XCTAssertEqual(look.status, 0, look.stderr)
        let settled = try String(contentsOfFile: dir + "/.pici/settled", encoding: .utf8)
        XCTAssertTrue(settled.hasPrefix("demo\tabcd1234\t"), settled)
        return (dir, env, input)
    }

    /// The job's two directories a minute old, as after a quiet minute.
    func age(_ dir: String) {
        let old = Date().addingTimeInterval(-60)
        for d in ["/demo/abcd1234", "/demo/abcd1234/artifacts"] {
            XCTAssertNoThrow(try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: dir + d))
        }
    }

    func publish(_ w: (dir: String, env: [String: String], input: String)) {
        let ran = Support.sh("pici-publish --no-sync --artifact-dir '\(w.dir)'", env: w.env, input: w.input)
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertEqual(ran.stdout, "", "published once")
    }

    func testAJobAtRestIsLookedAtAgainOnlyWhenItsDirectoriesChange() throws {
        let w = try settledWorld()
        let index = w.dir + "/demo/abcd1234/index.txt"
        let headline = try String(contentsOfFile: index, encoding: .utf8).split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertTrue(headline.hasPrefix("Job: demo (abcd1234) failed"), headline)
        // Changed in place, as nothing of pici's writes: no directory changes, so no look.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: index))
        handle.truncateFile(atOffset: 0)
        handle.write(Data("Job: demo (abcd1234) running\n".utf8))
        handle.closeFile()
        publish(w)
        XCTAssertEqual(try String(contentsOfFile: index, encoding: .utf8), "Job: demo (abcd1234) running\n", "a job at rest is not looked at")
        // A file made in its directory: looked at in full, its page made again.
        XCTAssertTrue(FileManager.default.createFile(atPath: w.dir + "/demo/abcd1234/notes", contents: nil))
        publish(w)
        XCTAssertTrue(try String(contentsOfFile: index, encoding: .utf8).hasPrefix(headline + "\n"))
    }

    func testALeftoverInAJobAtRestIsRemoved() throws {
        let w = try settledWorld()
        let gone = Support.sh("sh -c 'echo $$'", env: w.env).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for d in ["/demo/abcd1234", "/demo/abcd1234/artifacts"] {
            XCTAssertTrue(FileManager.default.createFile(atPath: "\(w.dir)\(d)/.index.html.tmp.\(gone).Ab3dEf", contents: Data("half".utf8)))
        }
        publish(w)
        for d in ["/demo/abcd1234", "/demo/abcd1234/artifacts"] {
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: w.dir + d).filter { $0.contains(".tmp.") }, [], d)
        }
    }

    func testAReRunOfAJobAtRestShowsOnItsPage() throws {
        let w = try settledWorld()
        try FileManager.default.createDirectory(atPath: w.dir + "/demo/feed0001/artifacts", withIntermediateDirectories: true)
        try Rerun.writeLink(artifactDir: w.dir, name: "demo", jobID: "feed0001", rerunOf: "abcd1234")
        publish(w)
        let text = try String(contentsOfFile: w.dir + "/demo/abcd1234/index.txt", encoding: .utf8)
        XCTAssertTrue(text.contains("\nRe-run as: feed0001\n"), text)
        // A job with re-runs is never at rest: a second re-run shows too.
        age(w.dir)
        publish(w)
        try FileManager.default.createDirectory(atPath: w.dir + "/demo/feed0002/artifacts", withIntermediateDirectories: true)
        try Rerun.writeLink(artifactDir: w.dir, name: "demo", jobID: "feed0002", rerunOf: "abcd1234")
        publish(w)
        XCTAssertTrue(try String(contentsOfFile: w.dir + "/demo/abcd1234/index.txt", encoding: .utf8).contains("\nRe-run as: feed0001 feed0002\n"))
    }

    /// A look at a job whose directories changed under a second ago is not recorded: a change
    /// in the same step of the kernel's coarse clock would not show.
    func testYoungTimesAreNotRecordedAndTheFileReadsBack() {
        var settled = SettledJobs()
        let now = 100_000_000_000
        settled.record("a\t1", SettledJobs.Times(job: now - 500_000_000, artifacts: 1), nowNanoseconds: now)
        XCTAssertTrue(settled.jobs.isEmpty)
        settled.record("a\t1", SettledJobs.Times(job: now - 2_000_000_000, artifacts: 7), nowNanoseconds: now)
        XCTAssertEqual(settled.jobs.count, 1)
        let dir = Support.tempDir(self)
        try? FileManager.default.createDirectory(atPath: dir + "/.pici", withIntermediateDirectories: true)
        let bytes = settled.bytes() + Array("torn line\nb\t2\tx\t3\n".utf8)
        try? FileSystem.writeAtomically(SettledJobs.path(artifactDir: dir), bytes)
        XCTAssertEqual(SettledJobs.read(artifactDir: dir).jobs, settled.jobs, "a line it cannot read is left out")
    }
    func testARestFileNumberReadsAsIntOfItsText() {
        // The numbers of `.pici/settled` and `.pici/at-rest` are read from their bytes; they
        // must read as `Int(String)` read them, or a cache would be read otherwise than it
        // was written.
        var texts = ["0", "7", "-7", "+7", "007", "-0", "", "-", "+", "--1", "+-1", "1-", "1 ", " 1", "x", "1x", "١",
                     "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
                     "99999999999999999999", "1700000000123456789", "-1700000000123456789"]
        var random = SeededRandom(seed: 12)
        for _ in 0..<2_000 {
            let n = Int(bitPattern: UInt(random.next()))
            texts += [String(n), String(n / 1_000_000), String(n).replacingOccurrences(of: "3", with: "a")]
        }
        for text in texts {
            XCTAssertEqual(RestFile.number(ArraySlice(Array(text.utf8))), Int(text), text)
        }
    }
}
