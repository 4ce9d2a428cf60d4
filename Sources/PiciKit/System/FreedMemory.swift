/// How this process's allocator treats freed memory.
public enum FreedMemory {
    /// For a process that lives one pass: freed memory is kept for reuse, never given back.
    /// A pici-stage pass allocates and frees history-sized buffers (tens of KB) hundreds of
    /// times, and by default glibc hands the heap's top back to the kernel and maps larger
    /// blocks afresh, so each new buffer's pages fault in again: ~1,800 faults in a pass over
    /// 189 histories (bench/README.md, session 14). Kept, the peak is reached once and its
    /// pages are reused. Not for a process that stays (a follower), which would hold its
    /// peak for good.
    public static func keepForThisPass() {
        _ = mallopt(trimThreshold, 256 << 20)
        _ = mallopt(mmapThreshold, 32 << 20)
    }

    /// glibc's mallopt(3) and two of its parameters, from <malloc.h>, which the Glibc module
    /// leaves out.
    @_silgen_name("mallopt")
    private static func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
    private static let trimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
    private static let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
}
