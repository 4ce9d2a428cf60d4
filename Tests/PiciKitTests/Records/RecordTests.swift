import Foundation
import PiciKit
import XCTest

/// The record types on the wire: each encodes and decodes to the same value, unknown fields
/// and unknown types survive, and a line that is not a record says why.
final class RecordTests: XCTestCase {
    private let session = SessionRecord(
        name: "ci.socket.io.a3f2b8c1.step.lint", repo: "socket.io", jobID: "a3f2b8c1", short: "lint", pid: 15626,
        clients: 0, created: 1_795_823_657, ended: 1_795_823_660, exitCode: 3, status: .failed, cwd: "/srv/ci/wörk \"x\"",
        labels: [(key: "ci", value: "1"), (key: "cmd", value: "bash -c 'exit 3'\t\n")])

    private func roundTrip(_ record: Record, file: StaticString = #filePath, line: UInt = #line) throws -> Record {
        let bytes = record.lineBytes
        XCTAssertFalse(bytes.contains(0x0A), "one record, one line", file: file, line: line)
        let back = try Record.decode(bytes)
        XCTAssertEqual(back, record, file: file, line: line)
        XCTAssertEqual(back.lineBytes, bytes, "encoding is stable", file: file, line: line)
        return back
    }

    private func decode(_ text: String) throws -> Record { try Record.decode(Array(text.utf8)) }

    // MARK: round trips

    func testSessionRoundTrip() throws {
        _ = try roundTrip(.session(session))
        let bare = SessionRecord(name: "my-shell", created: 0, status: .unreachable)
        _ = try roundTrip(.session(bare))
        let running = SessionRecord(name: "ci.r.a3f2b8c1.runner", repo: "r", jobID: "a3f2b8c1", short: "runner",
                                    pid: 1, clients: 2, created: 5, status: .running, cwd: nil)
        _ = try roundTrip(.session(running))
    }

    func testSessionWireFormat() {
        let text = String(decoding: Record.session(session).lineBytes, as: UTF8.self)
        XCTAssertEqual(text, #"{"type":"session","name":"ci.socket.io.a3f2b8c1.step.lint","repo":"socket.io","job_id":"a3f2b8c1","short":"lint","pid":15626,"clients":0,"created":1795823657,"ended":1795823660,"exit_code":3,"status":"failed","cwd":"/srv/ci/wörk \"x\"","labels":{"ci":"1","cmd":"bash -c 'exit 3'\t\n"}}"#)
        let bare = String(decoding: Record.session(SessionRecord(name: "x", created: 0, status: .running)).lineBytes, as: UTF8.self)
        XCTAssertEqual(bare, #"{"type":"session","name":"x","repo":null,"job_id":null,"short":null,"pid":null,"clients":null,"created":0,"ended":null,"exit_code":null,"status":"running","cwd":null,"labels":{}}"#)
    }

    func testJobRoundTrip() throws {
        var runner = session
        runner.name = "ci.socket.io.a3f2b8c1.runner"
        runner.short = "runner"
        runner.labels = []
        let job = JobRecord(name: "socket.io", jobID: "a3f2b8c1", status: .failed, exitCode: 3,
                            startedAt: "2026-11-27T23:54:17Z", endedAt: "2026-11-27T23:54:20Z", duration: "3.0s",
                            sessions: [runner, session])
        _ = try roundTrip(.job(job))
        let running = JobRecord(name: "r", jobID: "00000000", status: .running, exitCode: nil, startedAt: nil,
                                endedAt: nil, duration: "", sessions: [])
        _ = try roundTrip(.job(running))
        for status in JobStatus.allCases {
            var j = running
            j.status = status
            _ = try roundTrip(.job(j))
        }
    }

    func testJobWireFormat() {
        let job = JobRecord(name: "r", jobID: "a3f2b8c1", status: .running, exitCode: nil, startedAt: "2026-11-27T23:54:17Z",
                            endedAt: nil, duration: "12s", sessions: [SessionRecord(name: "ci.r.a3f2b8c1.runner", created: 1, status: .running)])
        let text = String(decoding: Record.job(job).lineBytes, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix(#"{"type":"job","name":"r","job_id":"a3f2b8c1","status":"running","exit_code":null,"started_at":"2026-11-27T23:54:17Z","ended_at":null,"duration":"12s","session_count":1,"sessions":[{"type":"session","name":"ci.r.a3f2b8c1.runner","#), text)
        XCTAssertTrue(text.hasSuffix("}]}"), text)
    }

    func testListingRoundTrip() throws {
        _ = try roundTrip(.listing(ListingRecord(complete: true, sessions: 3, at: 1_795_823_657)))
        _ = try roundTrip(.listing(ListingRecord(complete: false, sessions: 0, at: 1, atNanoseconds: 1_000_000_123)))
        XCTAssertEqual(String(decoding: Record.listing(ListingRecord(complete: true, sessions: 2, at: 7)).lineBytes, as: UTF8.self),
                       #"{"type":"listing","complete":true,"sessions":2,"at":7}"#)
        XCTAssertEqual(ListingRecord(complete: true, sessions: 0, at: 7).instantNanoseconds, 7_000_000_000)
        XCTAssertEqual(ListingRecord(complete: true, sessions: 0, at: 7, atNanoseconds: 7_000_000_001).instantNanoseconds, 7_000_000_001)
    }

    // MARK: what a reader must tolerate

    func testUnknownFieldsSurvive() throws {
        let s = try decode(#"{"future":[1,{"x":null}],"type":"session","name":"a","created":1,"status":"running","zz":"é"}"#)
        guard case .session(let rec) = s else { return XCTFail("\(s)") }
        XCTAssertEqual(rec.extra.map(\.key), ["future", "zz"])
        XCTAssertNil(rec.repo, "absent optional fields read as null")
        XCTAssertEqual(rec.labels.count, 0)
        let out = String(decoding: s.lineBytes, as: UTF8.self)
        XCTAssertTrue(out.hasSuffix(#""labels":{},"future":[1,{"x":null}],"zz":"é"}"#), out)

        let j = try decode(#"{"type":"job","name":"r","job_id":"a3f2b8c1","status":"success","exit_code":0,"duration":"1.0s","session_count":99,"sessions":[{"type":"session","name":"a","created":1,"status":"success","deep":{"k":1}}],"trace":"abc"}"#)
        guard case .job(let job) = j else { return XCTFail("\(j)") }
        XCTAssertEqual(job.extra.map(\.key), ["trace"])
        XCTAssertEqual(job.sessions.first?.extra.map(\.key), ["deep"])
        XCTAssertEqual(job.sessionCount, 1, "session_count is derived, not trusted")
        let jout = String(decoding: j.lineBytes, as: UTF8.self)
        XCTAssertTrue(jout.contains(#""deep":{"k":1}"#) && jout.hasSuffix(#","trace":"abc"}"#), jout)

        let l = try decode(#"{"type":"listing","complete":true,"sessions":0,"at":5,"host":"builder1"}"#)
        XCTAssertEqual(String(decoding: l.lineBytes, as: UTF8.self), #"{"type":"listing","complete":true,"sessions":0,"at":5,"host":"builder1"}"#)
    }

    func testUnknownTypesPassThroughByteForByte() throws {
        let lines = [
            #"{"type":"status","timestamp":"2026-11-27T23:54:17Z","name":"r"}"#,
            #"{ "type" : "heartbeat" , "n": 1.50e+2, "s":"\u00e9\/" }"#,
            #"{"type":"","x":1}"#,
        ]
        for text in lines {
            let r = try decode(text)
            guard case .other(let type, let bytes) = r else { return XCTFail("\(r)") }
            XCTAssertEqual(bytes, Array(text.utf8))
            XCTAssertEqual(r.lineBytes, Array(text.utf8))
            XCTAssertEqual(type, try JSONParser.parse(text).objectValue?["type"]?.stringValue)
        }
    }

    // MARK: lines that are not records

    private func assertRefused(_ text: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try decode(text), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(expected), "\(error)", file: file, line: line)
        }
    }

    func testRefusedRecordsNameWhatIsWrong() {
        assertRefused("[1]", "not a JSON object")
        assertRefused("{}", "no \"type\"")
        assertRefused(#"{"type":3}"#, "no \"type\"")
        assertRefused("{\"type\":\"session\"", "invalid JSON")
        assertRefused(#"{"type":"session","created":1,"status":"running"}"#, "session record has no \"name\"")
        assertRefused(#"{"type":"session","name":"a","status":"running"}"#, "\"created\"")
        assertRefused(#"{"type":"session","name":"a","created":"1","status":"running"}"#, "\"created\": not a whole number")
        assertRefused(#"{"type":"session","name":"a","created":1.5,"status":"running"}"#, "\"created\"")
        assertRefused(#"{"type":"session","name":"a","created":1,"status":"done"}"#, "unknown status \"done\"")
        assertRefused(#"{"type":"session","name":"a","created":1,"status":"running","pid":"7"}"#, "\"pid\"")
        assertRefused(#"{"type":"session","name":"a","created":1,"status":"running","repo":7}"#, "\"repo\"")
        assertRefused(#"{"type":"session","name":"a","created":1,"status":"running","labels":{"k":1}}"#, "label \"k\"")
        assertRefused(#"{"type":"session","name":"a","created":1,"status":"running","labels":[]}"#, "\"labels\"")
        assertRefused(#"{"type":"job","name":"r","job_id":"x","status":"failed"}"#, "\"sessions\"")
        assertRefused(#"{"type":"job","name":"r","job_id":"x","status":"nope","sessions":[]}"#, "unknown status")
        assertRefused(#"{"type":"job","name":"r","job_id":"x","status":"failed","sessions":[1]}"#, "item 1")
        assertRefused(#"{"type":"job","name":"r","job_id":"x","status":"failed","sessions":[{"type":"session","name":"a","created":1,"status":"running"},{"type":"session"}]}"#, "item 2")
        assertRefused(#"{"type":"listing","complete":"yes","sessions":1,"at":2}"#, "\"complete\"")
        assertRefused(#"{"type":"listing","complete":true,"at":2}"#, "\"sessions\"")
    }

    func testNullOptionalFieldsAndMissingOnesReadTheSame() throws {
        let a = try decode(#"{"type":"session","name":"a","created":1,"status":"running","repo":null,"pid":null,"labels":null}"#)
        let b = try decode(#"{"type":"session","name":"a","created":1,"status":"running"}"#)
        XCTAssertEqual(a, b)
    }

    // MARK: reading lines

    /// A descriptor that yields `bytes`, written by a thread in small pieces so reads come short.
    private func pipeFD(_ bytes: [UInt8], piece: Int = 7) -> Int32 {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let writeEnd = fds[1]
        Thread.detachNewThread {
            var i = 0
            while i < bytes.count {
                let n = min(piece, bytes.count - i)
                let w = bytes[i..<(i + n)].withUnsafeBytes { write(writeEnd, $0.baseAddress!, n) }
                if w <= 0 { break }
                i += w
            }
            close(writeEnd)
        }
        let readEnd = fds[0]
        addTeardownBlock { close(readEnd) }
        return readEnd
    }

    private func allLines(_ text: [UInt8], max: Int = LineReader.maxLineLength, piece: Int = 7) throws -> [LineReader.Line] {
        var reader = LineReader(fd: pipeFD(text, piece: piece), maxLength: max)
        var out: [LineReader.Line] = []
        while let l = try reader.next() { out.append(l) }
        return out
    }

    func testLineReaderSplitsOnNewlinesAndDropsCR() throws {
        let lines = try allLines(Array("a\r\nbb\n\n\r\nc\rd\nlast".utf8))
        XCTAssertEqual(lines, [.text(Array("a".utf8)), .text(Array("bb".utf8)), .text([]), .text([]),
                               .text(Array("c\rd".utf8)), .text(Array("last".utf8))])
        XCTAssertEqual(try allLines([]), [])
        XCTAssertEqual(try allLines(Array("x\n".utf8)), [.text(Array("x".utf8))], "no empty line after the last newline")
    }

    func testLineReaderSkipsOverLongLinesWithoutBufferingThem() throws {
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 300_000)
        let text = Array("ok\n".utf8) + long + Array("\nafter\n".utf8) + long
        let lines = try allLines(text, max: 1_000, piece: 65_536)
        XCTAssertEqual(lines, [.text(Array("ok".utf8)), .tooLong(length: 300_000), .text(Array("after".utf8)), .tooLong(length: 300_000)])
        // Exactly at the limit is still a line.
        let edge = try allLines([UInt8](repeating: 0x61, count: 1_000) + [0x0A], max: 1_000)
        XCTAssertEqual(edge, [.text([UInt8](repeating: 0x61, count: 1_000))])
    }

    func testLineReaderCountsLines() throws {
        var reader = LineReader(fd: pipeFD(Array("a\n\nb\n".utf8)))
        _ = try reader.next()
        XCTAssertEqual(reader.lineNumber, 1)
        _ = try reader.next()
        _ = try reader.next()
        XCTAssertEqual(reader.lineNumber, 3)
        XCTAssertNil(try reader.next())
    }

    func testRecordReaderSkipsBlankAndMalformedLinesAndKeepsGoing() {
        let text = """
        {"type":"listing","complete":true,"sessions":0,"at":1}

        not json
           \t
        {"type":"session","name":"a","created":1,"status":"running"}\r
        {"type":"session","name":"a"}
        {"type":"mystery"}
        """
        var reader = RecordReader(fd: pipeFD(Array(text.utf8)))
        var got: [Record] = []
        while let r = reader.next() { got.append(r) }
        XCTAssertEqual(got.count, 3)
        XCTAssertEqual(reader.malformed, 2)
        if case .listing = got[0] {} else { XCTFail("\(got[0])") }
        if case .session(let s) = got[1] { XCTAssertEqual(s.name, "a") } else { XCTFail("\(got[1])") }
        if case .other(let type, _) = got[2] { XCTAssertEqual(type, "mystery") } else { XCTFail("\(got[2])") }
    }
}
