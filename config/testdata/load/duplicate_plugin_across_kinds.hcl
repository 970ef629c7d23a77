plugin "hub" "dpc" {}
plugin "transport" "dpc" {}
