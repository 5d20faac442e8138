from nassim.cli import main

main()
