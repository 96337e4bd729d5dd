"""Faces and recognizers: the data, detection, the networks, embedding and verification.

Nothing here knows about attacks or chapters: ``data`` reads Extended Yale B (and never
imports torch), ``models`` is the backbone registry, ``checkpoints`` the one checkpoint
store, ``verification`` the one implementation of normalisation, pair scores and the
threshold at a FAR, and ``pretrained`` and ``dlib_resnet`` bring the two real recognizers.
"""
