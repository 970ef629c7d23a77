# Written by `dpc plugin lock`. Pins each plugin binary by sha256; edit only by re-running that command.

plugin "backup" "file" {
  version = "0.1.0"
  sha256  = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
}

plugin "transport" "direct" {
  version = "1.2.3"
  sha256  = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
}
