"""`python -m channels.simulators.wecom_app`: the simulator alone until Ctrl-C."""

from channels.simulators.wecom_app.standalone import main

main()
