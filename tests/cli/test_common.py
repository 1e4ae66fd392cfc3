"""The tools' handling of bad input: one line, also for failed writes."""
import errno

import pytest

from mmseg_ood.cli.common import user_errors
from mmseg_ood.utils.file_io import write_failure


def test_a_failed_write_is_one_line_naming_the_file():
    with pytest.raises(SystemExit) as exit_info:
        with user_errors('mmseg-ood-x'):
            raise write_failure('out/0001_anomaly.npy', OSError(
                errno.ENOSPC, 'No space left on device'))
    assert exit_info.value.code == (
        'mmseg-ood-x: error: Could not write out/0001_anomaly.npy: No space '
        'left on device. Free space on that disk (or write to another '
        "folder) and run the command again; no half-written file is left "
        "under the output's name.")
    with pytest.raises(OSError):  # other OS errors keep their traceback
        with user_errors('mmseg-ood-x'):
            raise OSError(errno.EIO, 'bus error')
