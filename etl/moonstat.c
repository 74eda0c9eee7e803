/* moonstat.c - command line entry point (being built). */
#include <stdio.h>
int main(void)
{
    puts("moonstat");
    return 0;
}
