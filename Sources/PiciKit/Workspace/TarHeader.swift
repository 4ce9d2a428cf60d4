import Glibc

/// Why an archive could not be extracted. Every case names the offending member or offset, so
/// a refused artifact can be reported precisely.
public enum TarError: Error, Equatable, CustomStringConvertible {
    /// The member would write outside the destination, or through a symlink; nothing further
    /// was written.
    case unsafeMember(name: String, reason: String)
    /// The archive is not a well-formed tar stream at this byte offset.
    case corrupt(offset: Int, reason: String)
    /// A system call failed on a path (the archive, or a member relative to the destination).
    case io(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .unsafeMember(let name, let reason): return "refusing member \"\(name)\": \(reason)"
        case .corrupt(let offset, let reason): return "corrupt archive at byte \(offset): \(reason)"
        case .io(let path, let code): return "\(path): \(String(cString: strerror(code)))"
        }
    }
}

/// One parsed 512-byte tar header block (v7, ustar, GNU). Parsing validates the checksum and
/// never traps, whatever the bytes, so it can be fed straight from a fuzzer.
public struct TarHeader: Equatable, Sendable {
    /// The member types pici distinguishes; anything else is kept as `.other` and skipped.
    public enum Kind: Equatable, Sendable {
        case regular, hardLink, symlink, characterDevice, blockDevice, directory, fifo
        case gnuLongName, gnuLongLink, paxExtended, paxGlobal
        case other(UInt8)
    }

    public static let blockSize = 512
    /// Sizes beyond this are refused, so size arithmetic (padding, offsets) cannot overflow.
    public static let maxSize = 1 << 60

    /// The member name, with the ustar prefix joined on when present.
    public var name: String
    public var linkName: String
    public var mode: UInt32
    public var size: Int
    public var mtime: Int64
    public var typeflag: UInt8
    public var kind: Kind

    public init(name: String, linkName: String = "", mode: UInt32 = 0o644, size: Int = 0,
                mtime: Int64 = 0, typeflag: UInt8 = UInt8(ascii: "0")) {
        self.name = name
        self.linkName = linkName
        self.mode = mode
        self.size = size
        self.mtime = mtime
        self.typeflag = typeflag
        self.kind = Self.kind(of: typeflag)
    }

    /// Parses one block; nil for an all-zero block (the end-of-archive marker). `offset` is only
    /// used to say where a corrupt header was.
    public static func parse(_ block: [UInt8], offset: Int = 0) throws -> TarHeader? {
        guard block.count == blockSize else {
            throw TarError.corrupt(offset: offset, reason: "header block is \(block.count) bytes, not 512")
        }
        if block.allSatisfy({ $0 == 0 }) { return nil }

        func corrupt(_ reason: String) -> TarError { .corrupt(offset: offset, reason: reason) }

        // Historic tars summed signed chars; accept either sum, as GNU tar does.
        var unsignedSum = 0, signedSum = 0
        for (i, byte) in block.enumerated() {
            let b = (148..<156).contains(i) ? UInt8(ascii: " ") : byte
            unsignedSum += Int(b)
            signedSum += Int(Int8(bitPattern: b))
        }
        guard let stored = number(block[148..<156]) else { throw corrupt("checksum field is not a number") }
        guard stored == Int64(unsignedSum) || stored == Int64(signedSum) else {
            throw corrupt("bad header checksum")
        }

        guard let size = number(block[124..<136]), size >= 0 else { throw corrupt("size field is not a size") }
        guard size <= Int64(maxSize) else { throw corrupt("size \(size) is too large") }
        guard let mode = number(block[100..<108]), mode >= 0, mode <= 0o7777777 else {
            throw corrupt("mode field is not a mode")
        }
        let typeflag = block[156]

        var name = string(block[0..<100])
        // Only POSIX ustar has a prefix; old GNU keeps atime/ctime in those bytes.
        if block[257..<263].elementsEqual("ustar\0".utf8) {
            let prefix = string(block[345..<500])
            if !prefix.isEmpty { name = prefix + "/" + name }
        }
        var header = TarHeader(name: name, linkName: string(block[157..<257]), mode: UInt32(mode),
                               size: Int(size), mtime: number(block[136..<148]) ?? 0, typeflag: typeflag)
        header.kind = kind(of: typeflag)
        return header
    }

    static func kind(of typeflag: UInt8) -> Kind {
        switch typeflag {
        case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): return .regular
        case UInt8(ascii: "1"): return .hardLink
        case UInt8(ascii: "2"): return .symlink
        case UInt8(ascii: "3"): return .characterDevice
        case UInt8(ascii: "4"): return .blockDevice
        case UInt8(ascii: "5"): return .directory
        case UInt8(ascii: "6"): return .fifo
        case UInt8(ascii: "L"): return .gnuLongName
        case UInt8(ascii: "K"): return .gnuLongLink
        case UInt8(ascii: "x"): return .paxExtended
        case UInt8(ascii: "g"): return .paxGlobal
        default: return .other(typeflag)
        }
    }

    /// A NUL-terminated field; invalid UTF-8 is repaired, which can never add a `/` or `..`.
    static func string(_ field: ArraySlice<UInt8>) -> String {
        let end = field.firstIndex(of: 0) ?? field.endIndex
        return String(decoding: field[field.startIndex..<end], as: UTF8.self)
    }

    /// A numeric field: octal text (leading spaces, ended by space or NUL; empty is 0) or GNU
    /// base-256 (high bit of the first byte set). nil when malformed or out of Int64 range.
    static func number(_ field: ArraySlice<UInt8>) -> Int64? {
        guard let first = field.first else { return nil }
        if first & 0x80 != 0 {
            let negative = first & 0x40 != 0
            var value: UInt64 = UInt64((negative ? ~first : first) & 0x3f)
            for byte in field.dropFirst() {
                let (shifted, overflow) = value.multipliedReportingOverflow(by: 256)
                if overflow { return nil }
                value = shifted | UInt64(negative ? ~byte : byte)
            }
            guard value <= UInt64(Int64.max) else { return nil }
            // Two's complement: the complement we accumulated is -(v + 1).
            return negative ? -Int64(value) - 1 : Int64(value)
        }
        var i = field.startIndex
        while i < field.endIndex, field[i] == UInt8(ascii: " ") { i += 1 }
        var value: Int64 = 0
        while i < field.endIndex, field[i] >= UInt8(ascii: "0"), field[i] <= UInt8(ascii: "7") {
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 8)
            if overflow { return nil }
            value = shifted | Int64(field[i] - UInt8(ascii: "0"))
            i += 1
        }
        // After the digits only terminators may follow.
        while i < field.endIndex {
            if field[i] != 0 && field[i] != UInt8(ascii: " ") { return nil }
            i += 1
        }
        return value
    }
}
