import XCTest
@testable import PiciKit

/// Newlines counted a word at a time give what counting byte by byte gives.
final class ByteScanTests: XCTestCase {
    /// Every length up to 40 (words and the bytes after them), bytes around the ones looked
    /// for: a newline, a CR, bytes that differ from them by the high bit, NUL, UTF-8.
    func testTheSameAsCountingEachByte() {
        var random = SeededRandom(seed: 0xB17E5)
        let bytes: [UInt8] = [0x0A, 0x0D, 0x8A, 0x8D, 0x00, 0x0B, 0x7F, 0x80, 0xFF, 0xC3, 0xA9, 0x61, 0x20]
        for length in 0...40 {
            for _ in 0..<400 {
                let buffer = (0..<length).map { _ in random.chance(60) ? UInt8(ascii: "a") : random.pick(bytes) }
                let newlines = buffer.filter { $0 == 0x0A }.count
                let ascii = buffer.allSatisfy { $0 < 0x80 }
                buffer.withUnsafeBufferPointer { b in
                    let scan = ByteScan.scan(b)
                    XCTAssertEqual(scan.newlines, newlines, "\(buffer)")
                    XCTAssertEqual(scan.ascii, ascii, "\(buffer)")
                    XCTAssertEqual(ByteScan.isASCII(b), ascii, "\(buffer)")
                    XCTAssertEqual(scan.cr, buffer.contains(0x0D), "\(buffer)")
                    for n in 1...(newlines + 1) {
                        let ends = buffer.indices.filter { buffer[$0] == 0x0A }.reversed().map { $0 + 1 }
                        let found = ByteScan.afterNewline(n, fromEndOf: b)
                        XCTAssertEqual(found.index, n <= ends.count ? ends[n - 1] : nil, "\(buffer) n=\(n)")
                        if n > newlines { XCTAssertEqual(found.newlines, newlines, "\(buffer)") }
                    }
                }
            }
        }
    }
}
