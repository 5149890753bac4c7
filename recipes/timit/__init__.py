"""TIMIT as Lhotse manifests with word/phone alignments and Fbank features."""
