from borrower_typing.cli import main

main()
