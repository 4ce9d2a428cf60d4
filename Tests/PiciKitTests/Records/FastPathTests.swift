import Foundation
import XCTest
@testable import PiciKit

/// The fast paths over bytes against the general ones they stand in for. For every input,
/// generated or mutated, both must give the same record, the same error text and the same
/// bytes; each test also checks that the fast path really was taken often enough to count.
final class FastPathTests: XCTestCase {
    static let count = Int(ProcessInfo.processInfo.environment["PICI_FUZZ_COUNT"] ?? "") ?? 30_000

    typealias Random = SeededRandom

    /// Records in pici's own shape, and the same records written in every other way a JSON
    /// writer may: spaces, other key orders, escapes, duplicates, missing and extra fields.
    static func recordLines(_ r: inout Random) -> [[UInt8]] {
        let sessions = (0..<60).compactMap { _ in try? ZmxList.session(fromLine: Array(FuzzTests.zmxLine(&r).utf8)) }
        let jobs = JobGrouping.jobs(from: sessions, now: 1_795_200_000)
        var lines = jobs.map { JSONSerializer.bytes($0.json) } + sessions.map { JSONSerializer.bytes($0.json) }
        lines.append(JSONSerializer.bytes(ListingRecord(complete: true, sessions: 3, at: 1_795_200_000, atNanoseconds: 7).json))
        let s = #"{"type":"session","name":"ci.r.a3f2b8c1.runner","repo":"r","job_id":"a3f2b8c1","short":"runner","pid":1,"clients":0,"created":5,"ended":9,"exit_code":0,"status":"success","cwd":"/w","labels":{}}"#
        let untyped = s.replacingOccurrences(of: #""type":"session","#, with: "")
        let mistyped = s.replacingOccurrences(of: #""type":"session""#, with: #""type":"job""#)
        let typeLast = untyped.replacingOccurrences(of: "}", with: #","type":"session"}"#)
        let variants: [String] = [
            s,
            s.replacingOccurrences(of: ",", with: " ,\n\t").replacingOccurrences(of: ":", with: " : "),
            s.replacingOccurrences(of: #""pid":1,"#, with: "") + " ",
            s.replacingOccurrences(of: #""pid":1"#, with: #""pid":-0"#),
            s.replacingOccurrences(of: #""pid":1"#, with: #""pid":1.0"#),
            s.replacingOccurrences(of: #""pid":1"#, with: #""pid":1e2"#),
            s.replacingOccurrences(of: #""pid":1"#, with: #""pid":-9223372036854775808"#),
            s.replacingOccurrences(of: #""pid":1"#, with: #""pid":9223372036854775808"#),
            s.replacingOccurrences(of: #""pid":1"#, with: #""pid":01"#),
            s.replacingOccurrences(of: #""pid":1"#, with: #""pid":"1""#),
            s.replacingOccurrences(of: #""pid":1"#, with: #""pid":null,"pid":2"#),
            s.replacingOccurrences(of: #""name":"#, with: #""n\u0061me":"#),
            s.replacingOccurrences(of: #""runner","pid""#, with: #""run\/ner","pid""#),
            s.replacingOccurrences(of: #""status":"success""#, with: #""status":"succ\u0065ss""#),
            s.replacingOccurrences(of: #""status":"success""#, with: #""status":"done""#),
            s.replacingOccurrences(of: #""labels":{}"#, with: #""labels":{"k\"":"v\n","é":"x","k\"":"again"}"#),
            s.replacingOccurrences(of: #""labels":{}"#, with: #""labels":null"#),
            s.replacingOccurrences(of: #""labels":{}"#, with: #""labels":{"k":1}"#),
            s.replacingOccurrences(of: #""labels":{}"#, with: #""labels":{},"zz":[1,{"a":null}],"é":"\u00e9""#),
            typeLast,
            s.replacingOccurrences(of: #""cwd":"/w""#, with: #""cwd":"/w","type":"job""#),
            s.replacingOccurrences(of: #""cwd":"/w""#, with: "\"cwd\":\"/w\u{7F}\""),
            s.replacingOccurrences(of: #""created":5,"#, with: ""),
            #"{"type":"job","name":"r","job_id":"a3f2b8c1","status":"failed","exit_code":3,"started_at":null,"ended_at":null,"duration":"1.0s","session_count":99,"sessions":[\#(s)],"trace":"t"}"#,
            #"{"type":"job","name":"r","job_id":"a3f2b8c1","status":"lost","sessions":[],"session_count":{"x":[]}}"#,
            #"{"type":"job","name":"r","job_id":"a3f2b8c1","status":"running","sessions":[\#(untyped)]}"#,
            #"{"type":"job","name":"r","job_id":"a3f2b8c1","status":"running","sessions":[\#(mistyped)]}"#,
            #"{"type":"job","name":"r","job_id":"a3f2b8c1","status":"running","sessions":[ \#(s) , 1 ]}"#,
            #"{"type":"job","name":"r","job_id":"a3f2b8c1","status":"running","sessions":{}}"#,
            #"{"type":"listing","complete":true,"sessions":0,"at":5,"at_ns":null,"host":"b1"}"#,
            #"{"type":"listing","complete":"yes","sessions":0,"at":5}"#,
            #"{"type":"listing","at":5,"sessions":0,"complete":false,"at":6}"#,
            #"{"type":"note","x":1}"#, #"[1]"#, #"{}"#, #"{"type":3}"#, "  ", "",
        ]
        return lines + variants.map { Array($0.utf8) }
    }

    func testRecordDecodingMatchesTheGeneralPath() {
        var r = Random(seed: 11)
        let samples = Self.recordLines(&r)
        var fast = 0
        for i in 0..<Self.count {
            let good = samples[i % samples.count]
            let line = i < samples.count || r.chance(30) ? good : FuzzTests.mutate(good, &r)
            if (try? line.withUnsafeBytes { try Record.decodeCommonShape($0) }) != nil { fast += 1 }
            let quick = Result { try Record.decode(line) }, general = Result { try Record.decodeAnyShape(line) }
            switch (quick, general) {
            case (.success(let a), .success(let b)):
                XCTAssertEqual(a, b, "\(String(decoding: line, as: UTF8.self))")
                XCTAssertEqual(String(decoding: a.lineBytes, as: UTF8.self), String(decoding: b.lineBytes, as: UTF8.self),
                               "unknown fields in another order? \(String(decoding: line, as: UTF8.self))")
            case (.failure(let a), .failure(let b)):
                XCTAssertEqual("\(a)", "\(b)", "\(String(decoding: line, as: UTF8.self))")
            default:
                XCTFail("one path took what the other refused: \(quick) \(general) \(String(decoding: line, as: UTF8.self))")
            }
        }
        XCTAssertGreaterThan(fast, Self.count / 4, "the fast path was hardly taken")
    }

    func testRecordWritersWriteWhatTheSerializerWrites() throws {
        var r = Random(seed: 12)
        for line in Self.recordLines(&r) {
            guard let record = try? Record.decodeAnyShape(line) else { continue }
            let expected: [UInt8]
            switch record {
            case .session(let s): expected = JSONSerializer.bytes(s.json)
            case .job(let j): expected = JSONSerializer.bytes(j.json)
            case .listing(let l): expected = JSONSerializer.bytes(l.json)
            case .other(_, let bytes): expected = bytes
            }
            XCTAssertEqual(String(decoding: record.lineBytes, as: UTF8.self), String(decoding: expected, as: UTF8.self))
        }
        let awkward = SessionRecord(
            name: "a\"\\\n\r\t\u{0}\u{1F}\u{7F}é😀/", repo: "", jobID: nil, short: "s", pid: Int.min, clients: Int.max,
            created: -1, ended: 0, exitCode: -0, status: .unreachable, cwd: String(repeating: "x\u{7F}", count: 300),
            labels: [(key: "", value: ""), (key: "\u{1}", value: "\"")], extra: [JSONObject.Member("n", .number("1.50e+2"))])
        XCTAssertEqual(Record.session(awkward).lineBytes, JSONSerializer.bytes(awkward.json))
    }

    func testIntegersAreWrittenAsStringWritesThem() {
        var r = Random(seed: 13)
        var edges = [0, 1, -1, 9, 10, 99, 100, Int.max, Int.min, Int.max - 1, Int.min + 1]
        edges += (0..<19).map { Int(pow(10.0, Double($0))) } + (0..<19).map { -Int(pow(10.0, Double($0))) + 1 }
        for n in edges + (0..<Self.count).map({ _ in Int(truncatingIfNeeded: r.next()) >> r.below(64) }) {
            var out: [UInt8] = []
            JSONSerializer.writeInt(n, into: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), String(n))
        }
    }

    func testTimesAreWrittenAsBefore() {
        var r = Random(seed: 14)
        func before(_ t: Int, _ sep: String, _ suffix: String) -> String {
            var tt = time_t(t)
            var p = tm()
            guard gmtime_r(&tt, &p) != nil else { return "—" }
            let pad = TimeFormat.pad
            return pad(Int(p.tm_year) + 1900, 4) + "-" + pad(Int(p.tm_mon) + 1, 2) + "-" + pad(Int(p.tm_mday), 2) + sep
                + pad(Int(p.tm_hour), 2) + ":" + pad(Int(p.tm_min), 2) + ":" + pad(Int(p.tm_sec), 2) + suffix
        }
        let edges = [0, -1, 1_795_823_657, -62_167_219_200, -62_167_219_201, 253_402_300_800, 1 << 40, -(1 << 40)]
        for t in edges + (0..<2000).map({ _ in Int(truncatingIfNeeded: r.next()) >> (20 + r.below(30)) }) {
            XCTAssertEqual(TimeFormat.rfc3339(t), before(t, "T", "Z"), "\(t)")
            XCTAssertEqual(TimeFormat.timestamp(t), before(t, " ", ""), "\(t)")
        }
    }

    /// zmx list lines, including the ones where bytes and Characters part: combining marks
    /// after a space, `=`, `.` or `→`, CRLF, NUL, a Prepend character before `%`.
    func testZmxListLinesReadTheSameByBytesAndByCharacters() {
        var r = Random(seed: 15)
        let odd = [
            "  name=ci.r.a3f2b8c1.runner\tcreated=1", "→ name=a\tcreated=1", "→\u{301} name=a\tcreated=1",
            " \u{301}name=a\tcreated=1", "  name=a\tcreated=1\tk=\u{301}v", "  name=a\u{301}\tcreated=1",
            "  na\u{301}me=a\tcreated=1", "  name=a\tcreated=+5", "  name=a\tcreated=\u{663}", "  name=a\tcreated=1\r",
            "  name=a\tcreated=1\0", "  no sessions found\u{301}", " no sessions found in /x", "\t \t", "",
            "  name=a\tcreated=1\tcwd=file://h/\u{600}%41", "  name=a\tcreated=1\tcwd=file://h/%41", "=\tname=a",
            "  name=a\tcreated=1\tnoequals", "  name=ci.r.a3f2b8c1.step.\u{301}x\tcreated=1", "  name=\tcreated=1",
            "  session_name=ci.x.0000000a.step.lint\tstarted_in=/o\tcreated=2\terr=Timeout",
        ]
        var fast = 0
        for i in 0..<Self.count {
            let good = i < odd.count ? Array(odd[i].utf8) : Array(FuzzTests.zmxLine(&r).utf8)
            let line = r.chance(60) ? good : FuzzTests.mutate(good, &r)
            if line.allSatisfy({ $0 < 0x80 }) { fast += 1 }
            let byBytes = Result { try ZmxList.session(fromLine: line[...]) }
            let byCharacters = Result { try ZmxList.session(fromLine: line[...], byCharacters: true) }
            switch (byBytes, byCharacters) {
            case (.success(let a), .success(let b)): XCTAssertEqual(a, b, "\(line)")
            case (.failure(let a), .failure(let b)): XCTAssertEqual("\(a)", "\(b)", "\(line)")
            default: XCTFail("\(byBytes) \(byCharacters) \(line)")
            }
        }
        XCTAssertGreaterThan(fast, Self.count / 4)
    }

    func testJobNamesAndFileURLsReadTheSameByBytesAndByCharacters() {
        var r = Random(seed: 16)
        let pieces = ["ci", ".", ".", ".", "a3f2b8c1", "0000000a", "runner", "step", "lint", "x", "\r\n", "\u{301}", "\u{600}",
                      "é", "%41", "%", "/", "file://", "h"]
        for _ in 0..<Self.count {
            var name = r.chance(80) ? "ci." : ""
            for _ in 0..<r.below(10) { name += r.pick(pieces) }
            if name.utf8.allSatisfy({ $0 < 0x80 }) {
                XCTAssertNotEqual(JobName.parseASCII(name), .notASCII, name.debugDescription)
                XCTAssertEqual(ZmxList.pathOfFileURL(ascii: name.utf8), ZmxList.pathOfFileURLByCharacters(name), name.debugDescription)
            }
            XCTAssertEqual(JobName.parse(name), JobName.parseByCharacters(name), name.debugDescription)
        }
    }

    func testNamesSortByTheirBytesAndStably() {
        var r = Random(seed: 17)
        let names = ["a", "b", "ab", "a.b", "é", "e\u{301}", "Z", "", "ci.x.runner", "ci.x.step.a"]
        for _ in 0..<2000 {
            let sessions = (0..<r.below(12)).map { i in SessionRecord(name: r.pick(names), pid: i, created: 1, status: .running) }
            let expected = sessions.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
            XCTAssertEqual(SessionRecord.sortedByName(sessions).map(\.pid), expected.map(\.pid))
            let a = r.pick(names), b = r.pick(names)
            XCTAssertEqual(NameOrder.less(a, b), a.utf8.lexicographicallyPrecedes(b.utf8))
        }
    }
}
