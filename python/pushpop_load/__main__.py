from pushpop_load.cli import main

main()
