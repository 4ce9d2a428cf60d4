import Foundation
@testable import PiciKit
import XCTest

/// Calls run on a thread of their own (`BackgroundPool`), as pici-stage's `zmx history` calls
/// are: every call comes back once, under its tag; at most `limit` run at once; the next one
/// starts while the caller is busy with the last; stop ends them. Each case runs threaded and
/// on the caller's thread (where there is no pidfd, or no thread to be had).
final class BackgroundPoolTests: XCTestCase {
    override func setUp() {
        super.setUp()
        Terminal.ignoreSIGPIPE()
    }

    private func bash(_ script: String) -> BackgroundPool.Start {
        { try Spawn.start(["bash", "-c", script], timeout: 30) }
    }

    func testEveryQueuedCallComesBackOnceUnderItsTag() {
        for threaded in [true, false] {
            let pool = BackgroundPool(limit: 3, threaded: threaded)
            defer { pool.stop() }
            for i in 0..<10 { pool.submit(tag: i, bash("echo \(i); exit \(i)")) }
            var got: [Int: (Int32, String)] = [:]
            while let ended = pool.next() {
                XCTAssertNil(got[ended.tag], "tag \(ended.tag) came back twice")
                guard case .success(let r) = ended.result else { return XCTFail("\(ended.result)") }
                got[ended.tag] = (r.status, r.stdoutText)
            }
            XCTAssertEqual(got.keys.sorted(), Array(0..<10), "threaded \(threaded)")
            for (tag, (status, out)) in got {
                XCTAssertEqual(status, Int32(tag))
                XCTAssertEqual(out, "\(tag)\n")
            }
            XCTAssertNil(pool.next(), "nothing queued: nil at once")
        }
    }

    func testAtMostLimitCallsRunAtOnceAndThatManyDo() throws {
        for threaded in [true, false] {
            let log = Support.tempDir(self, "pool") + "/log"
            let pool = BackgroundPool(limit: 2, threaded: threaded)
            defer { pool.stop() }
            for i in 0..<6 { pool.submit(tag: i, bash("echo + >>\(log); sleep 0.3; echo - >>\(log)")) }
            while pool.next() != nil {}
            var running = 0, most = 0
            for line in try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n") {
                running += line == "+" ? 1 : -1
                most = max(most, running)
            }
            XCTAssertEqual(most, 2, "threaded \(threaded)")
        }
    }

    func testTheNextCallStartsWhileTheCallerIsBusy() throws {
        // Limit 1: the second call can start only once the first has ended. With a thread it
        // starts then, while the caller still works on the first; without, at the caller's
        // next `next`.
        for threaded in [true, false] {
            let pool = BackgroundPool(limit: 1, threaded: threaded)
            defer { pool.stop() }
            for i in 0..<2 { pool.submit(tag: i, bash("date +%s%N")) }
            XCTAssertEqual(pool.next()?.tag, 0)
            usleep(1_000_000)  // the caller writing the first history (long, for a loaded machine)
            let asked = Clock.nowNanoseconds()
            guard let second = pool.next(), case .success(let r) = second.result, let started = Int(r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                return XCTFail("no second result")
            }
            if threaded {
                XCTAssertLessThan(started, asked, "the second call waited for the caller")
            } else {
                XCTAssertGreaterThanOrEqual(started, asked)
            }
        }
    }

    func testManyCallsOnEveryThreadComeBackOnceWithStartsThatFail() {
        // Several threads take from one queue: every call comes back once, a start that
        // throws among them, whatever the order the threads take and end them in.
        for limit in [1, 2, 3, 8] {
            let pool = BackgroundPool(limit: limit)
            defer { pool.stop() }
            var expected: Set<Int> = []
            for i in 0..<120 {
                expected.insert(i)
                if i % 7 == 3 {
                    pool.submit(tag: i) { try Spawn.start(["/nonexistent/zmx", "\(i)"]) }
                } else {
                    pool.submit(tag: i) { try Spawn.start(["/bin/echo", "\(i)"], timeout: 30) }
                }
            }
            var seen: Set<Int> = []
            while let ended = pool.next() {
                XCTAssertTrue(seen.insert(ended.tag).inserted, "limit \(limit): tag \(ended.tag) came back twice")
                switch ended.result {
                case .success(let r): XCTAssertEqual(r.stdoutText, "\(ended.tag)\n")
                case .failure: XCTAssertEqual(ended.tag % 7, 3, "limit \(limit): tag \(ended.tag) failed")
                }
            }
            XCTAssertEqual(seen, expected, "limit \(limit)")
            XCTAssertTrue(pool.hasEnded, "none left: next returns nil at once")
        }
    }

    func testSlowStartsOverlapOnTwoCores() throws {
        // A spawn holds its thread until the child has exec'd: with a thread per core, one
        // call starts while another is still being started. Each start here takes 1 s.
        guard ChildPool.onlineCPUs >= 2 else { throw XCTSkip("one core: one spawning thread") }
        let pool = BackgroundPool(limit: 2)
        defer { pool.stop() }
        XCTAssertEqual(pool.spawners, 2)
        for i in 0..<2 {
            pool.submit(tag: i) {
                usleep(1_000_000)
                return try Spawn.start(["bash", "-c", "date +%s%N"], timeout: 30)
            }
        }
        var started: [Int] = []
        while let ended = pool.next() {
            guard case .success(let r) = ended.result, let ns = Int(r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                return XCTFail("\(ended.result)")
            }
            started.append(ns)
        }
        XCTAssertEqual(started.count, 2)
        XCTAssertLessThan(abs(started[0] - started[1]), 900_000_000, "the second start waited for the first")
    }

    func testStopEndsTheCallsOfEveryThread() throws {
        guard ChildPool.onlineCPUs >= 2 else { throw XCTSkip("one core: one spawning thread") }
        let dir = Support.tempDir(self, "pool")
        let pool = BackgroundPool(limit: 2)
        for i in 0..<2 { pool.submit(tag: i, bash("echo $$ >\(dir)/pid\(i).new; mv \(dir)/pid\(i).new \(dir)/pid\(i); exec sleep 30")) }
        var pids: [pid_t] = []
        for _ in 0..<250 where pids.count < 2 {
            usleep(20_000)
            pids = (0..<2).compactMap { pid_t((try? String(contentsOfFile: "\(dir)/pid\($0)", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") }
        }
        XCTAssertEqual(pids.count, 2, "the calls never started")
        let before = Date()
        pool.stop()
        XCTAssertLessThan(Date().timeIntervalSince(before), 10, "stop waited for the calls to end")
        for pid in pids { XCTAssertNotEqual(kill(pid, 0), 0, "call \(pid) outlived stop") }
        XCTAssertNil(pool.next())
    }

    func testACallThatCannotStartComesBackAsItsFailure() {
        for threaded in [true, false] {
            let pool = BackgroundPool(limit: 2, threaded: threaded)
            defer { pool.stop() }
            pool.submit(tag: 7) { try Spawn.start(["/nonexistent/zmx", "history", "x"]) }
            pool.submit(tag: 8, bash("exit 0"))
            var failures: [Int] = [], successes: [Int] = []
            while let ended = pool.next() {
                switch ended.result {
                case .success: successes.append(ended.tag)
                case .failure(let error):
                    failures.append(ended.tag)
                    XCTAssertTrue("\(error)".contains("/nonexistent/zmx"), "\(error)")
                }
            }
            XCTAssertEqual(failures, [7], "threaded \(threaded)")
            XCTAssertEqual(successes, [8])
        }
    }

    func testStopEndsWhatRunsAndStartsNothingMore() throws {
        for threaded in [true, false] {
            let dir = Support.tempDir(self, "pool")
            let pool = BackgroundPool(limit: 1, threaded: threaded)
            pool.submit(tag: 0, bash("echo $$ >\(dir)/pid.new; mv \(dir)/pid.new \(dir)/pid; exec sleep 30"))
            pool.submit(tag: 1, bash("touch \(dir)/second; sleep 30"))
            var pid: pid_t = 0
            if threaded {
                // The thread starts the first call on its own; without one, nothing runs
                // until the caller asks.
                for _ in 0..<250 where pid == 0 {
                    usleep(20_000)
                    pid = pid_t((try? String(contentsOfFile: dir + "/pid", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
                }
                XCTAssertGreaterThan(pid, 0, "the first call never started")
            }
            let before = Date()
            pool.stop()
            XCTAssertLessThan(Date().timeIntervalSince(before), 10, "stop waited for the call to end")
            if pid > 0 { XCTAssertNotEqual(kill(pid, 0), 0, "the running call outlived stop") }
            usleep(200_000)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/second"), "a queued call started")
            XCTAssertNil(pool.next(), "a stopped pool hands back nothing more")
        }
    }

    func testWithoutPidfdsTheCallsRunOnTheCallersThread() {
        // A SIGCHLD wakes one poll of two: the pool then keeps to the caller's thread (a call
        // starts only when the caller asks), and still works.
        ExitNotice.forceSignalPath = true
        defer { ExitNotice.forceSignalPath = false }
        let pool = BackgroundPool(limit: 1)
        defer { pool.stop() }
        for i in 0..<2 { pool.submit(tag: i, bash("date +%s%N; exit \(i + 3)")) }
        XCTAssertEqual(pool.next()?.tag, 0)
        usleep(300_000)
        let asked = Clock.nowNanoseconds()
        guard let second = pool.next(), case .success(let r) = second.result else { return XCTFail("no second result") }
        XCTAssertEqual(r.status, 4)
        XCTAssertGreaterThanOrEqual(Int(r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, asked, "a thread started it")
        XCTAssertNil(pool.next())
    }

    func testTheQueueKeepsNothingItHandedOut() {
        // The caller slower than the calls: the queue of ended calls is never empty, and a
        // history handed out must still be let go at once (the 3N bound of pici-stage).
        final class History {}
        var fifo = FIFO<History>()
        weak var first: History?
        do {
            let h = History()
            first = h
            fifo.append(h)
        }
        for _ in 0..<200 {
            fifo.append(History())
            _ = fifo.removeFirst()
            XCTAssertNil(first, "a history handed out is still held")
        }
        XCTAssertFalse(fifo.isEmpty)
    }
    func testHasEndedSaysWhetherNextWouldReturnAtOnce() {
        let pool = BackgroundPool(limit: 2)
        defer { pool.stop() }
        pool.submit(tag: 1, bash("sleep 0.3"))
        XCTAssertFalse(pool.hasEnded, "a call runs: next would wait")
        let deadline = Date().addingTimeInterval(10)
        while !pool.hasEnded && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(pool.hasEnded, "the call ended and waits to be taken")
        XCTAssertEqual(pool.next()?.tag, 1)
        XCTAssertTrue(pool.hasEnded, "none left: next returns nil at once")
        XCTAssertNil(pool.next())
        // On the caller's thread, next runs what is queued itself: it would not return at once.
        let inline = BackgroundPool(limit: 2, threaded: false)
        defer { inline.stop() }
        inline.submit(tag: 2, bash("true"))
        XCTAssertFalse(inline.hasEnded)
        XCTAssertEqual(inline.next()?.tag, 2)
    }
}
