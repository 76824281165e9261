#!/bin/sh
{{> header}}
# Served beside the install file for installers that fetch the first-boot hand-off instead of embedding it (the
# Debian preseed's late_command runs it with in-target). Runs inside the installed system.
{{> firstboot-setup}}
