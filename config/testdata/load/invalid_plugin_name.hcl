plugin "backup" "../../bin/sh" {}
