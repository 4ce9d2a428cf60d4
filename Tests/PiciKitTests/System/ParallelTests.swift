import Foundation
import XCTest
@testable import PiciKit

/// `Parallel.forEach`: every index once, on several threads; and the writes of a batch
/// (`SyncBatch`) made from threads at once are all held and committed, each thread's in order.
final class ParallelTests: XCTestCase {
    func testEveryIndexRunsOnceSpreadOverTheThreads() {
        let count = 64
        let runs = UnsafeMutableBufferPointer<Int>.allocate(capacity: count)
        let threads = UnsafeMutableBufferPointer<pthread_t>.allocate(capacity: count)
        runs.initialize(repeating: 0)
        defer { runs.deallocate(); threads.deallocate() }
        Parallel.forEach(count, threads: 4) { i in
            runs[i] += 1
            threads[i] = pthread_self()
            usleep(2_000)  // long enough that one thread cannot take them all
        }
        XCTAssertEqual(Array(runs), Array(repeating: 1, count: count))
        XCTAssertGreaterThan(Set(threads).count, 1)
        XCTAssertLessThanOrEqual(Set(threads).count, 4)
    }

    func testOneThreadOrNothingToDoRunsHere() {
        var ran: [Int] = []
        Parallel.forEach(3, threads: 1) { ran.append($0) }
        XCTAssertEqual(ran, [0, 1, 2])
        Parallel.forEach(0, threads: 4) { _ in XCTFail("nothing to run") }
    }

    func testABatchHoldsTheWritesOfSeveralThreads() throws {
        let dir = Support.tempDir(self)
        SyncBatch.begin()
        defer { _ = SyncBatch.end() }
        Parallel.forEach(8, threads: 4) { t in
            for k in 0..<25 { try? FileSystem.writeAtomically("\(dir)/\(t).\(k)", "\(t) \(k)") }
        }
        XCTAssertEqual(SyncBatch.count, 200)
        XCTAssertEqual(SyncBatch.commit(), [])
        for t in 0..<8 {
            for k in 0..<25 { XCTAssertEqual(try? String(contentsOfFile: "\(dir)/\(t).\(k)", encoding: .utf8), "\(t) \(k)") }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp.") }, [])
    }
}
