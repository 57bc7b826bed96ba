/* test=isa, debugging: single-step traps under TF (set and cleared by
 * POPF, not taken after INT n), and an instruction breakpoint in DR0
 * that faults before its instruction and is stepped over with RF. The
 * #DB handler records where each one came from and DR6. */
#include "isa.h"

#include "idt.h"
#include "libc.h"

#define MAX_DB 16
#define F_RF (1ull << 16)

static volatile unsigned db_count;
static volatile uint64_t db_rip[MAX_DB], db_dr6[MAX_DB];
volatile uint64_t isa_db_base;

static void on_db(struct irq_frame *f)
{
	uint64_t dr6;
	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	if (db_count < MAX_DB) {
		db_rip[db_count] = f->rip - isa_db_base;
		db_dr6[db_count] = dr6 & 0x400f; /* BS, B0-B3 */
	}
	db_count++;
	__asm__ volatile("mov %0, %%dr6" : : "r"(0xffff0ff0ull));
	f->rflags |= F_RF; /* step over an instruction breakpoint */
}

static void report(const char *name)
{
	printf("isa: %s %u:", name, db_count);
	for (unsigned i = 0; i < db_count && i < MAX_DB; i++)
		printf(" +%lu/0x%lx", db_rip[i], db_dr6[i]);
	printf("\n");
	db_count = 0;
}

void isa_debug_groups(void)
{
	idt_set_handler(1, on_db);
	idt_set_handler(0x41, on_db); /* INT 0x41 below: counted too */
	__asm__ volatile("mov %0, %%dr6" : : "r"(0xffff0ff0ull));

	/* TF set by POPF traps after the instruction that follows it; the
	 * POPF that clears it still traps; INT n is not trapped after. */
	db_count = 0;
	__asm__ volatile("lea 1f(%%rip), %%rax\n\tmov %%rax, isa_db_base(%%rip)\n\t"
			 "pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n"
			 "1:\tnop\n\taddl $1, %%eax\n\tint $0x41\n\tpushfq\n\tandq $~0x100, (%%rsp)\n\t"
			 "popfq\n\tnop\n\tnop"
			 :
			 :
			 : "rax", "memory", "cc");
	report("single-step");

	/* DR0 on the third instruction of a run, enabled locally (L0). */
	db_count = 0;
	__asm__ volatile("lea 1f(%%rip), %%rax\n\tmov %%rax, isa_db_base(%%rip)\n\t"
			 "lea 2f(%%rip), %%rax\n\tmov %%rax, %%dr0\n\tmov $1, %%eax\n\tmov %%rax, %%dr7\n"
			 "1:\tnop\n\tnop\n2:\tincl %%eax\n\tnop\n\txor %%eax, %%eax\n\tmov %%rax, %%dr7"
			 :
			 :
			 : "rax", "memory", "cc");
	report("instruction-breakpoint");
}
