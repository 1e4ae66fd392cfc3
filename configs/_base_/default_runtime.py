# MMSeg's runtime plus mmseg_ood's registrations and its checks before the
# first iteration (outlier label, outlier source, anomaly validation sets).
_base_ = 'mmseg::_base_/default_runtime.py'
custom_imports = dict(imports=['mmseg_ood'], allow_failed_imports=False)
custom_hooks = [dict(type='OutlierExposureCheckHook')]
