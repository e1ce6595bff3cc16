package dev.hako.sys;

/** The names of the errno values a host call is likely to fail with, for messages a person can act on. */
public final class Errno {
    private static final String[] NAMES = new String[134];

    static {
        String[][] rows = {
            {"1", "EPERM"}, {"2", "ENOENT"}, {"4", "EINTR"}, {"5", "EIO"}, {"6", "ENXIO"}, {"7", "E2BIG"},
            {"9", "EBADF"}, {"11", "EAGAIN"}, {"12", "ENOMEM"}, {"13", "EACCES"}, {"14", "EFAULT"},
            {"16", "EBUSY"}, {"17", "EEXIST"}, {"19", "ENODEV"}, {"22", "EINVAL"}, {"24", "EMFILE"},
            {"20", "ENOTDIR"}, {"21", "EISDIR"}, {"25", "ENOTTY"}, {"26", "ETXTBSY"}, {"27", "EFBIG"},
            {"28", "ENOSPC"}, {"29", "ESPIPE"}, {"30", "EROFS"}, {"36", "ENAMETOOLONG"}, {"37", "ENOLCK"},
            {"38", "ENOSYS"}, {"40", "ELOOP"}, {"75", "EOVERFLOW"}, {"95", "EOPNOTSUPP"}, {"122", "EDQUOT"},
        };
        for (String[] row : rows) {
            NAMES[Integer.parseInt(row[0])] = row[1];
        }
    }

    private Errno() {}

    /** "EINVAL (22)" for 22; the bare number for an errno without a name here. */
    public static String describe(long errno) {
        String name = errno > 0 && errno < NAMES.length ? NAMES[(int) errno] : null;
        return name == null ? "errno " + errno : name + " (" + errno + ")";
    }
}
