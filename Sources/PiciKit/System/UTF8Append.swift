extension Array where Element == UInt8 {
    /// Appends a String's UTF-8 with one copy: `+= text.utf8` goes through the generic
    /// sequence path, which cost more than the bytes when a page's log is written a line at a
    /// time.
    mutating func append(utf8 text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ append(contentsOf: $0) }) == nil { append(contentsOf: text.utf8) }
    }
}
