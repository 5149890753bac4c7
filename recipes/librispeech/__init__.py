"""LibriSpeech as Lhotse manifests with Fbank features."""
